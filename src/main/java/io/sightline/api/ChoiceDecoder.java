package io.sightline.api;

import io.sightline.engine.Tokenizer;
import io.sightline.engine.sampling.Sampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One choice's text as its tokens arrive. Each token's piece is what it adds to the decoded text (" red", ","),
 * so pieces concatenate to the text, as OpenAI's logprob tokens do.
 *
 * <p>For streaming, text is released only when it can no longer change: while the text ends with the start of a
 * stop string it is held back, and once a stop string appears nothing more is released until {@link #finish}, which
 * sends what the engine kept (the engine cuts the text at the stop string and drops the token that completed it).
 * So the concatenated deltas equal the stored text.
 */
final class ChoiceDecoder {

    /**
     * One token with its piece of text.
     *
     * @param top the most probable tokens of its step, each with the piece it would have added (or, adding none,
     *            its own text, such as {@code "</s>"}); empty for those
     */
    record Piece(String text, float logprob, List<Piece> top) {
    }

    /** What a step released: text for the delta and the tokens that came with it (possibly none of either). */
    record Release(String text, List<Piece> pieces) {
    }

    private final Tokenizer tokenizer;
    private final List<String> stop;
    private final List<Piece> pieces = new ArrayList<>();
    private int[] tokens = new int[16];
    private String text = "";
    private String released = "";
    private int releasedPieces;
    private boolean stopped;

    ChoiceDecoder(Tokenizer tokenizer, List<String> stop) {
        this.tokenizer = tokenizer;
        this.stop = stop;
    }

    /**
     * The pieces of finished tokens (non-streamed responses).
     *
     * @param top per token, the most probable tokens of its step; may run past {@code tokens} (the engine drops the
     *            token that completed a stop string)
     */
    static List<Piece> pieces(Tokenizer tokenizer, int[] tokens, float[] logprobs, List<List<Sampler.Ranked>> top) {
        ChoiceDecoder d = new ChoiceDecoder(tokenizer, List.of());
        for (int i = 0; i < tokens.length; i++) {
            d.accept(tokens[i], logprobs[i], top.get(i));
        }
        return d.pieces;
    }

    /** A token as the engine chose it, with its step's most probable tokens; null while everything new is held back. */
    Release accept(int token, float logprob, List<Sampler.Ranked> top) {
        int n = pieces.size();
        if (n == tokens.length) {
            tokens = Arrays.copyOf(tokens, 2 * n);
        }
        int[] prefix = Arrays.copyOf(tokens, n + 1);
        List<Piece> alternatives = new ArrayList<>(top.size());
        for (Sampler.Ranked r : top) {
            prefix[n] = r.token();
            String piece = after(text, tokenizer.decode(prefix));
            // an alternative that adds no text (end of text, padding) shows what it is; the chosen token keeps its
            // piece, so that the pieces still concatenate to the content
            if (piece.isEmpty() && r.token() != token) {
                piece = tokenizer.tokenText(r.token());
            }
            // float, as the engine reports the chosen token's logprob, so that its entry here equals it
            alternatives.add(new Piece(piece, (float) r.logprob(), List.of()));
        }
        tokens[n] = token;
        prefix[n] = token;
        String next = tokenizer.decode(prefix);
        pieces.add(new Piece(after(text, next), logprob, alternatives));
        text = next;
        if (stopped || (stopped = stop.stream().anyMatch(next::contains)) || endsWithStopStart(next)) {
            return null;
        }
        return release(next, pieces.size());
    }

    /** The rest of the choice, given the engine's final text and token count. */
    Release finish(String finalText, int finalTokens) {
        stopped = true;
        return release(finalText, finalTokens);
    }

    private Release release(String upTo, int count) {
        String delta = after(released, upTo);
        if (upTo.startsWith(released)) {
            released = upTo;
        }
        int to = Math.max(releasedPieces, Math.min(count, pieces.size()));
        List<Piece> out = List.copyOf(pieces.subList(releasedPieces, to));
        releasedPieces = to;
        return new Release(delta, out);
    }

    private boolean endsWithStopStart(String s) {
        for (String st : stop) {
            for (int k = Math.min(st.length() - 1, s.length()); k > 0; k--) {
                if (s.regionMatches(s.length() - k, st, 0, k)) {
                    return true;
                }
            }
        }
        return false;
    }

    // A decoder that rewrites text it already gave (Hugging Face's cleanup turns " ' " into "'" once the next word
    // arrives) yields an empty piece here; the text still arrives whole, through finish().
    private static String after(String prefix, String s) {
        return s.startsWith(prefix) ? s.substring(prefix.length()) : "";
    }
}
