package io.sightline.engine;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.util.Map;

/**
 * The model's tokenizer.json through DJL's Hugging Face binding, loaded from the model directory only (no hub, no
 * network), plus the model.json prompt template.
 */
public final class Tokenizer implements AutoCloseable {

    static {
        // DJL may otherwise try to download native libraries or hub files; ours are bundled and local
        System.setProperty("ai.djl.offline", "true");
    }

    private final HuggingFaceTokenizer hf;
    private final ModelBundle bundle;
    private boolean closed;

    private Tokenizer(HuggingFaceTokenizer hf, ModelBundle bundle) {
        this.hf = hf;
        this.bundle = bundle;
    }

    public static Tokenizer load(ModelBundle bundle) {
        try {
            return new Tokenizer(HuggingFaceTokenizer.newInstance(bundle.tokenizer(),
                    Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false")), bundle);
        } catch (IOException e) {
            throw new EngineFailureException("cannot load " + bundle.tokenizer() + ": " + e.getMessage());
        }
    }

    /**
     * The prompt template around {@code prompt}, tokenised. The template's parts are encoded separately so that the
     * question's token range is known exactly; the word-level tokenizer gives the same ids as encoding it whole
     * (checked against the golden files' prompt_ids).
     */
    public PromptIds prompt(String prompt) {
        String[] parts = bundle.templateParts();
        long[] head = encode(parts[0]);
        long[] question = encode(prompt);
        long[] tail = encode(parts[1]);
        long[] ids = new long[head.length + question.length + tail.length];
        System.arraycopy(head, 0, ids, 0, head.length);
        System.arraycopy(question, 0, ids, head.length, question.length);
        System.arraycopy(tail, 0, ids, head.length + question.length, tail.length);
        int image = -1;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == bundle.specialTokens().imageId()) {
                if (image >= 0) {
                    throw new InvalidParamsException("prompt", "must not contain " + bundle.specialTokens().image());
                }
                image = i;
            }
        }
        return new PromptIds(ids, image, head.length, head.length + question.length);
    }

    public long[] encode(String text) {
        return hf.encode(text, false, false).getIds();
    }

    /** Text of generated ids, special tokens skipped. */
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return hf.decode(l, true);
    }

    /** One token's own text, special tokens included ({@code "</s>"}), where {@link #decode} gives them none. */
    public String tokenText(int id) {
        return hf.decode(new long[] {id}, false);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            hf.close();
        }
    }

    /**
     * A tokenised prompt.
     *
     * @param ids          template and prompt, with one image token
     * @param imageAt      index of the image token in {@code ids}, -1 if none
     * @param questionFrom first id of the user's prompt
     * @param questionTo   one past its last id
     */
    public record PromptIds(long[] ids, int imageAt, int questionFrom, int questionTo) {

        /** Sequence positions the decoder sees: the image token stands for {@code imageTokens} patch embeddings. */
        public int positions(int imageTokens) {
            return ids.length + (imageAt >= 0 ? imageTokens - 1 : 0);
        }

        /** The same prompt without the image token (a text-only branch). */
        public PromptIds withoutImage() {
            if (imageAt < 0) {
                return this;
            }
            long[] out = new long[ids.length - 1];
            System.arraycopy(ids, 0, out, 0, imageAt);
            System.arraycopy(ids, imageAt + 1, out, imageAt, ids.length - imageAt - 1);
            int shift = questionFrom > imageAt ? 1 : 0;
            return new PromptIds(out, -1, questionFrom - shift, questionTo - shift);
        }
    }
}
