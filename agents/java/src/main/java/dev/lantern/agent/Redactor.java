package dev.lantern.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Owns the agent's PII redaction: which variable, field and map-key names and which string values
 * never leave the process. The built-in set (PROTOCOL.md, {@code config.update}) is used until
 * the appliance replaces it; the current set is swapped atomically, so a probe firing meanwhile
 * sees the old or the new set, never half of one.
 */
final class Redactor {
    static final int MAX_PATTERNS = 64;
    static final int MAX_PATTERN_BYTES = 256;
    static final List<String> DEFAULT_NAMES = List.of(
        "passw(or)?d", "secret", "token", "api[-_]?key", "^key$", "cookie", "authorization");
    static final List<String> DEFAULT_VALUES = List.of("eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}");

    private static volatile Redactor current = new Redactor(compile(DEFAULT_NAMES), compile(DEFAULT_VALUES), true, true);

    private final Pattern[] names;
    private final Pattern[] values;
    private final boolean cardNumbers;
    private final boolean privateKeys;

    Redactor(Pattern[] names, Pattern[] values, boolean cardNumbers, boolean privateKeys) {
        this.names = names;
        this.values = values;
        this.cardNumbers = cardNumbers;
        this.privateKeys = privateKeys;
    }

    static Redactor current() {
        return current;
    }

    /**
     * Replaces the set from a {@code config.update}'s {@code redaction} object; returns null on
     * success or why it was refused (the old set stays).
     */
    static String update(Object redaction) {
        if (!(redaction instanceof Map)) {
            return "redaction must be an object";
        }
        Map<?, ?> m = (Map<?, ?>) redaction;
        try {
            Pattern[] n = compile(strings(m.get("name_patterns")));
            Pattern[] v = compile(strings(m.get("value_patterns")));
            current = new Redactor(n, v, !Boolean.FALSE.equals(m.get("card_numbers")),
                !Boolean.FALSE.equals(m.get("private_keys")));
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    private static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        if (o == null) {
            return out;
        }
        if (!(o instanceof List)) {
            throw new IllegalArgumentException("patterns must be an array of strings");
        }
        for (Object p : (List<?>) o) {
            if (!(p instanceof String)) {
                throw new IllegalArgumentException("patterns must be an array of strings");
            }
            out.add((String) p);
        }
        return out;
    }

    static Pattern[] compile(List<String> patterns) {
        if (patterns.size() > MAX_PATTERNS) {
            throw new IllegalArgumentException("at most " + MAX_PATTERNS + " patterns");
        }
        Pattern[] out = new Pattern[patterns.size()];
        for (int i = 0; i < out.length; i++) {
            String p = patterns.get(i);
            if (Utf8.length(p) > MAX_PATTERN_BYTES || p.isEmpty()) {
                throw new IllegalArgumentException("a pattern must have 1 to " + MAX_PATTERN_BYTES + " bytes");
            }
            try {
                out[i] = Pattern.compile(p, Pattern.CASE_INSENSITIVE);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("invalid pattern " + p + ": " + e.getDescription());
            }
        }
        return out;
    }

    /** True when a variable, field or key with this name must not show its value. */
    boolean name(String name) {
        if (name == null) {
            return false;
        }
        for (Pattern p : names) {
            if (p.matcher(name).find()) {
                return true;
            }
        }
        return false;
    }

    /** True when this string value must not leave the process. */
    boolean value(String s) {
        if (s == null || s.isEmpty()) {
            return false;
        }
        if (privateKeys && s.contains("PRIVATE KEY-----") && s.contains("-----BEGIN")) {
            return true;
        }
        if (cardNumbers && hasCardNumber(s)) {
            return true;
        }
        for (Pattern p : values) {
            if (p.matcher(s).find()) {
                return true;
            }
        }
        return false;
    }

    /** A run of 13 to 19 digits (spaces and dashes between them allowed) passing the Luhn check. */
    static boolean hasCardNumber(String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            if (!isDigit(s.charAt(i)) || (i > 0 && isDigit(s.charAt(i - 1)))) {
                continue;
            }
            // Collect the run starting at i.
            int[] digits = new int[19];
            int count = 0;
            int j = i;
            while (j < n && count < 20) {
                char c = s.charAt(j);
                if (isDigit(c)) {
                    if (count == 19) {
                        count++;
                        break;
                    }
                    digits[count++] = c - '0';
                } else if ((c == ' ' || c == '-') && j + 1 < n && isDigit(s.charAt(j + 1)) && count > 0) {
                    // separator inside the number
                } else {
                    break;
                }
                j++;
            }
            if (count >= 13 && count <= 19 && luhn(digits, count)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    static boolean luhn(int[] digits, int count) {
        int sum = 0;
        boolean dbl = false;
        for (int i = count - 1; i >= 0; i--) {
            int d = digits[i];
            if (dbl) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
            dbl = !dbl;
        }
        return sum % 10 == 0;
    }
}
