package dev.lantern.agent;

/**
 * Dynamic log lines: literal parts and placeholders, objects one level deep without their own
 * methods, redaction, evaluation errors in place, and the length cap.
 */
public class LogTemplateTest {
    static final class User {
        String name = "alice";
        String token = "t-123";
        User boss;

        @Override
        public String toString() {
            throw new IllegalStateException("toString called");
        }
    }

    static String format(String template, Object... localsAndValues) {
        String[] names = new String[localsAndValues.length / 2];
        Object[] values = new Object[names.length];
        for (int i = 0; i < names.length; i++) {
            names[i] = (String) localsAndValues[2 * i];
            values[i] = localsAndValues[2 * i + 1];
        }
        return LogTemplate.parse(Json.parse(template)).format(new ProbeScope(null, names, values), Redactor.current());
    }

    @Test
    public void formatsPartsAndValues() {
        User u = new User();
        u.boss = new User();
        Check.equal("user alice has 3 items",
            format("[\"user \",{\"op\":\"path\",\"path\":[\"u\",\"name\"]},\" has \",{\"op\":\"path\",\"path\":[\"n\"]},\" items\"]", "u", u, "n", 3),
            "plain values");
        Check.equal("u=User{name=alice, token=[redacted], boss=User{…}}",
            format("[\"u=\",{\"op\":\"path\",\"path\":[\"u\"]}]", "u", u), "an object one level deep, no toString");
        Check.equal("t=[redacted]", format("[\"t=\",{\"op\":\"path\",\"path\":[\"u\",\"token\"]}]", "u", u), "a secret by name");
        Check.equal("c=[redacted]", format("[\"c=\",{\"op\":\"path\",\"path\":[\"c\"]}]", "c", "4111-1111-1111-1111"), "a card number");
        Check.equal("x=[error: unknown name 'nope'] n=null",
            format("[\"x=\",{\"op\":\"path\",\"path\":[\"nope\"]},\" n=\",{\"op\":\"path\",\"path\":[\"n\"]}]", "n", null),
            "an error in place");
        Check.equal("a=int[4]", format("[\"a=\",{\"op\":\"path\",\"path\":[\"a\"]}]", "a", new int[4]), "arrays by length");
        String longText = "y".repeat(1000);
        Check.equal(256, format("[{\"op\":\"path\",\"path\":[\"s\"]}]", "s", longText).length(), "cut to 255 characters and …");
    }

    @Test
    public void templatesAreBounded() {
        StringBuilder many = new StringBuilder("[");
        for (int i = 0; i < 40; i++) {
            many.append(i > 0 ? "," : "").append("\"x\"");
        }
        try {
            LogTemplate.parse(Json.parse(many.append("]").toString()));
            throw new AssertionError("expected a refusal");
        } catch (IllegalArgumentException e) {
            Check.contains(e.getMessage(), "at most 32 parts", "reason");
        }
    }
}
