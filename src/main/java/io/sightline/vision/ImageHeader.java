package io.sightline.vision;

import static io.sightline.vision.ImageRejectedException.Reason.CORRUPT;
import static io.sightline.vision.ImageRejectedException.Reason.NOT_AN_IMAGE;

/**
 * Format and dimensions read from the first bytes of an encoded image, without decoding any pixel.
 * This is what lets a 100000x100000 PNG of a few hundred bytes be refused before a decoder allocates for it.
 *
 * @param width  pixels as the header declares them (a JPEG with an EXIF rotation decodes to height x width)
 * @param height pixels as the header declares them
 */
public record ImageHeader(ImageFormat format, int width, int height) {

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    public long pixels() {
        return (long) width * height;
    }

    /**
     * Reads the header of a PNG (IHDR), JPEG (first SOFn marker) or WebP (VP8, VP8L or VP8X chunk).
     *
     * @throws ImageRejectedException NOT_AN_IMAGE when no known signature matches, CORRUPT when the signature
     *                                matches but the header is truncated or declares an empty image
     */
    public static ImageHeader read(byte[] bytes) {
        ImageHeader header;
        if (startsWith(bytes, PNG_SIGNATURE)) {
            header = png(bytes);
        } else if (bytes.length >= 3 && u8(bytes, 0) == 0xFF && u8(bytes, 1) == 0xD8 && u8(bytes, 2) == 0xFF) {
            header = jpeg(bytes);
        } else if (bytes.length >= 12 && ascii(bytes, 0, "RIFF") && ascii(bytes, 8, "WEBP")) {
            header = webp(bytes);
        } else {
            throw new ImageRejectedException(NOT_AN_IMAGE, "not a PNG, JPEG or WebP image (unrecognised signature)");
        }
        if (header.width < 1 || header.height < 1) {
            throw corrupt(header.format + " header declares an empty image " + header.width + "x" + header.height);
        }
        return header;
    }

    // PNG: signature, then the IHDR chunk must come first: length(4) "IHDR" width(4, BE) height(4, BE).
    private static ImageHeader png(byte[] b) {
        if (b.length < 24 || !ascii(b, 12, "IHDR")) {
            throw corrupt("PNG without an IHDR chunk");
        }
        long width = u32be(b, 16);
        long height = u32be(b, 20);
        if (width > Integer.MAX_VALUE || height > Integer.MAX_VALUE) {
            throw corrupt("PNG dimensions above 2^31-1");
        }
        return new ImageHeader(ImageFormat.PNG, (int) width, (int) height);
    }

    // JPEG: walk the marker segments until the first start-of-frame; its payload is precision(1) height(2) width(2).
    private static ImageHeader jpeg(byte[] b) {
        int i = 2;
        while (i + 1 < b.length) {
            if (u8(b, i) != 0xFF) {
                throw corrupt("JPEG marker expected at byte " + i);
            }
            int marker = u8(b, i + 1);
            if (marker == 0xFF) {           // fill byte before a marker
                i++;
                continue;
            }
            if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) {  // markers without length
                i += 2;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9) {
                throw corrupt("JPEG scan or end before any frame header");
            }
            if (i + 3 >= b.length) {
                break;
            }
            int length = u16be(b, i + 2);
            if (length < 2) {
                throw corrupt("JPEG segment length " + length + " at byte " + i);
            }
            if (isStartOfFrame(marker)) {
                if (i + 8 >= b.length) {
                    break;
                }
                // height 0 means "defined by a later DNL marker": too rare to support, and not checkable up front
                return new ImageHeader(ImageFormat.JPEG, u16be(b, i + 7), u16be(b, i + 5));
            }
            i += 2 + length;
        }
        throw corrupt("JPEG truncated before its frame header");
    }

    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    private static boolean isStartOfFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    // WebP: "RIFF" size "WEBP", then the first chunk (RFC 9649 §2.5-2.7).
    private static ImageHeader webp(byte[] b) {
        if (b.length >= 30 && ascii(b, 12, "VP8 ")) {
            // lossy: frame tag(3) at 20, start code 9d 01 2a at 23, then 14-bit width and height (LE)
            if (u8(b, 23) != 0x9D || u8(b, 24) != 0x01 || u8(b, 25) != 0x2A) {
                throw corrupt("WebP VP8 chunk without its start code");
            }
            return new ImageHeader(ImageFormat.WEBP, u16le(b, 26) & 0x3FFF, u16le(b, 28) & 0x3FFF);
        }
        if (b.length >= 25 && ascii(b, 12, "VP8L")) {
            // lossless: signature 0x2f at 20, then 14 bits width-1 and 14 bits height-1 (LE bit order)
            if (u8(b, 20) != 0x2F) {
                throw corrupt("WebP VP8L chunk without its signature");
            }
            long bits = u32le(b, 21);
            return new ImageHeader(ImageFormat.WEBP, (int) (bits & 0x3FFF) + 1, (int) ((bits >> 14) & 0x3FFF) + 1);
        }
        if (b.length >= 30 && ascii(b, 12, "VP8X")) {
            // extended: flags(4) at 20, then 24-bit canvas width-1 and height-1 (LE)
            return new ImageHeader(ImageFormat.WEBP, u24le(b, 24) + 1, u24le(b, 27) + 1);
        }
        throw corrupt("WebP without a VP8, VP8L or VP8X chunk");
    }

    private static ImageRejectedException corrupt(String message) {
        return new ImageRejectedException(CORRUPT, message);
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        if (b.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean ascii(byte[] b, int at, String s) {
        if (b.length < at + s.length()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (b[at + i] != (byte) s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    private static int u16be(byte[] b, int i) {
        return (u8(b, i) << 8) | u8(b, i + 1);
    }

    private static long u32be(byte[] b, int i) {
        return ((long) u16be(b, i) << 16) | u16be(b, i + 2);
    }

    private static int u16le(byte[] b, int i) {
        return u8(b, i) | (u8(b, i + 1) << 8);
    }

    private static int u24le(byte[] b, int i) {
        return u16le(b, i) | (u8(b, i + 2) << 16);
    }

    private static long u32le(byte[] b, int i) {
        return u16le(b, i) | ((long) u16le(b, i + 2) << 16);
    }
}
