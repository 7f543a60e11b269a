package io.sightline.api;

import java.util.List;

/**
 * The decoding options and arms that generations and evaluations both accept, under the same JSON names and
 * checked by the same {@link DecodingAdmission}. Null means "not given": the default applies.
 */
public interface DecodingFields {

    Integer maxNewTokens();

    Double temperature();

    Integer topK();

    Double topP();

    Long seed();

    List<String> stop();

    List<GenerationBody.Arm> arms();
}
