package dev.lantern.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Owns the agent's copy of the blocklist (PROTOCOL.md, {@code config.update} {@code blocklist}):
 * code where no probe may be installed. Matching is the appliance's ({@code security::blocklist}):
 * a class pattern's dots are path separators ({@code com.acme.secret.*} is {@code com/acme/secret/**},
 * sub-packages included), a pattern with {@code /} or a source extension names files and paths,
 * {@code *} stays within one part, {@code **} spans several; a class is matched as its whole path
 * (an inner class as its outer one), a file as its path with and without the extension or any tail
 * of those starting after a {@code /}; an exception that matches wins. The current lists are swapped
 * atomically; the weaver reads them on whichever thread loads a class.
 */
final class Blocklist {
    static final int MAX_PATTERNS = 200;
    static final int MAX_PATTERN_BYTES = 256;
    private static final String[] EXTENSIONS = {".java", ".kt", ".scala", ".groovy", ".py", ".clj"};

    private static volatile Blocklist current = new Blocklist(new String[0], new Pattern[0], new Pattern[0]);

    private final String[] ruleTexts;
    private final Pattern[] rules;
    private final Pattern[] exceptions;

    private Blocklist(String[] ruleTexts, Pattern[] rules, Pattern[] exceptions) {
        this.ruleTexts = ruleTexts;
        this.rules = rules;
        this.exceptions = exceptions;
    }

    static Blocklist current() {
        return current;
    }

    boolean isEmpty() {
        return rules.length == 0;
    }

    /**
     * Replaces the lists from a {@code config.update}'s {@code blocklist} object; returns null on
     * success or why it was refused (the old lists stay).
     */
    static String update(Object blocklist) {
        if (!(blocklist instanceof Map)) {
            return "blocklist must be an object";
        }
        Map<?, ?> m = (Map<?, ?>) blocklist;
        try {
            List<String> r = strings(m.get("rules"));
            List<String> e = strings(m.get("exceptions"));
            current = new Blocklist(r.toArray(new String[0]), compile(r), compile(e));
            return null;
        } catch (IllegalArgumentException ex) {
            return ex.getMessage();
        }
    }

    private static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        if (o == null) {
            return out;
        }
        if (!(o instanceof List) || ((List<?>) o).size() > MAX_PATTERNS) {
            throw new IllegalArgumentException("blocklist patterns must be an array of at most " + MAX_PATTERNS + " strings");
        }
        for (Object p : (List<?>) o) {
            if (!(p instanceof String) || ((String) p).isEmpty() || Utf8.length((String) p) > MAX_PATTERN_BYTES) {
                throw new IllegalArgumentException("a blocklist pattern must be a string of 1 to " + MAX_PATTERN_BYTES + " bytes");
            }
            out.add((String) p);
        }
        return out;
    }

    private static Pattern[] compile(List<String> patterns) {
        Pattern[] out = new Pattern[patterns.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = Pattern.compile(globRegex(patterns.get(i)));
        }
        return out;
    }

    static boolean isFilePattern(String p) {
        if (p.indexOf('/') >= 0) {
            return true;
        }
        for (String e : EXTENSIONS) {
            if (p.endsWith(e)) {
                return true;
            }
        }
        return false;
    }

    /** The path glob of a pattern as a regular expression over the whole path. */
    static String globRegex(String p) {
        String path = p;
        if (!isFilePattern(p)) {
            path = p.replace('.', '/');
            if (path.endsWith("/*")) {
                path = path + "*";
            }
        }
        StringBuilder re = new StringBuilder();
        int n = path.length();
        for (int i = 0; i < n; i++) {
            char c = path.charAt(i);
            if (c == '*') {
                if (i + 1 < n && path.charAt(i + 1) == '*') {
                    i++;
                    if (i + 1 < n && path.charAt(i + 1) == '/') {
                        i++;
                        re.append("(?:.*/)?");
                    } else {
                        re.append(".*");
                    }
                } else {
                    re.append("[^/]*");
                }
            } else if (Character.isLetterOrDigit(c)) {
                re.append(c);
            } else {
                re.append('\\').append(c);
            }
        }
        return re.toString();
    }

    /** The rule that blocks a class (dotted or internal name), or null. */
    String blockedClass(String className) {
        if (rules.length == 0 || className == null) {
            return null;
        }
        String path = className.replace('.', '/');
        int dollar = path.indexOf('$', path.lastIndexOf('/') + 1);
        if (dollar >= 0) {
            path = path.substring(0, dollar);
        }
        return decide(new String[] {path}, false);
    }

    /** The rule that blocks a source file (a name or a path), or null. */
    String blockedFile(String file) {
        if (rules.length == 0 || file == null) {
            return null;
        }
        String path = file.replace('\\', '/');
        while (path.startsWith("/")) {
            path = path.substring(1);
        }
        int dot = path.lastIndexOf('.');
        boolean stem = dot > 0 && path.charAt(dot - 1) != '/';
        return decide(stem ? new String[] {path, path.substring(0, dot)} : new String[] {path}, true);
    }

    /** The rule that blocks an action's location, or null. */
    String blocked(ActionSpec spec) {
        if (spec.className != null) {
            return blockedClass(spec.className);
        }
        return blockedFile(spec.filePackage != null ? spec.filePackage + "/" + spec.file : spec.file);
    }

    private String decide(String[] paths, boolean tails) {
        String rule = null;
        for (int i = 0; i < rules.length && rule == null; i++) {
            if (matches(rules[i], paths, tails)) {
                rule = ruleTexts[i];
            }
        }
        if (rule == null) {
            return null;
        }
        for (Pattern e : exceptions) {
            if (matches(e, paths, tails)) {
                return null;
            }
        }
        return rule;
    }

    private static boolean matches(Pattern p, String[] paths, boolean tails) {
        for (String path : paths) {
            if (p.matcher(path).matches()) {
                return true;
            }
            if (tails) {
                for (int i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
                    if (p.matcher(path.substring(i + 1)).matches()) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
