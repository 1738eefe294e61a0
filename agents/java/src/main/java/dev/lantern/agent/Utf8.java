package dev.lantern.agent;

/**
 * Owns the byte arithmetic of the appliance's limits, which are in UTF-8 bytes while Java
 * strings count UTF-16 units, and the "no control characters" rule (Unicode category Cc, as
 * Rust's {@code char::is_control}).
 */
final class Utf8 {
    private Utf8() {}

    /** UTF-8 length of {@code s} without encoding it; a lone surrogate counts as the 3 bytes of '?'. */
    static int length(CharSequence s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    static boolean hasControl(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /** {@code s} with every control character (C0, DEL and C1, as the appliance counts them) replaced. */
    static String replaceControls(String s, char with) {
        if (!hasControl(s)) {
            return s;
        }
        char[] chars = s.toCharArray();
        for (int i = 0; i < chars.length; i++) {
            if (Character.isISOControl(chars[i])) {
                chars[i] = with;
            }
        }
        return new String(chars);
    }

    /** The longest prefix of {@code s} of at most {@code maxBytes} bytes, not cutting a surrogate pair. */
    static String truncate(String s, int maxBytes) {
        if (length(s) <= maxBytes) {
            return s;
        }
        int n = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int width;
            int units = 1;
            if (c < 0x80) {
                width = 1;
            } else if (c < 0x800) {
                width = 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                width = 4;
                units = 2;
            } else {
                width = 3;
            }
            if (n + width > maxBytes) {
                break;
            }
            n += width;
            i += units;
        }
        return s.substring(0, i);
    }

    /** True when {@code s} can travel as a class, location or coordinate string (1–{@code max} bytes, no Cc). */
    static boolean nameOk(String s, int max) {
        return s != null && !s.isEmpty() && length(s) <= max && !hasControl(s);
    }
}
