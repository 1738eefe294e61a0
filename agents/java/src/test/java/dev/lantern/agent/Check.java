package dev.lantern.agent;

import java.util.Objects;

/** Owns the assertions of the tests (no JUnit on this machine): each failure says what was expected. */
final class Check {
    private Check() {}

    /** Thrown by {@link #skip}: the test could not run here (a jar or tool is missing). */
    static final class Skipped extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Skipped(String why) {
            super(why);
        }
    }

    static void equal(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected <" + expected + "> but was <" + actual + ">");
        }
    }

    static void isTrue(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    static void notNull(Object o, String what) {
        if (o == null) {
            throw new AssertionError(what + ": was null");
        }
    }

    static void contains(String haystack, String needle, String what) {
        if (haystack == null || !haystack.contains(needle)) {
            throw new AssertionError(what + ": expected to contain <" + needle + "> in <" + haystack + ">");
        }
    }

    static void skip(String why) {
        throw new Skipped(why);
    }
}
