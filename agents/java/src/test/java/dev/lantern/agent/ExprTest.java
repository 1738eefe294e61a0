package dev.lantern.agent;

import java.util.List;
import java.util.Map;

/**
 * The condition evaluator: paths over locals, {@code this} and fields; nulls; comparisons across
 * number types, strings, enums; short-circuit logic; and the errors that become
 * {@code condition_error} (unknown names, type mismatches, non-boolean conditions), plus the
 * parser's bounds.
 */
public class ExprTest {
    enum Color { RED, GREEN }

    static final class Item {
        long id = 7;
        double price = 2.5;
        String name = "book";
        Color color = Color.GREEN;
        Item next;
        int[] sizes = {1, 2, 3};
        char grade = 'A';

        public String getName() {
            throw new IllegalStateException("getter called");
        }
    }

    static final class Holder {
        Item item = new Item();
        int count = 3;
    }

    static Expr e(String json) {
        return Expr.parse(Json.parse(json));
    }

    static String path(String... names) {
        StringBuilder b = new StringBuilder("{\"op\":\"path\",\"path\":[");
        for (int i = 0; i < names.length; i++) {
            b.append(i > 0 ? "," : "").append('"').append(names[i]).append('"');
        }
        return b.append("]}").toString();
    }

    static String lit(Object v) {
        return "{\"op\":\"lit\",\"value\":" + (v instanceof String ? Json.quote((String) v) : v) + "}";
    }

    static String op(String op, String a, String b) {
        return "{\"op\":\"" + op + "\",\"args\":[" + a + "," + b + "]}";
    }

    static ProbeScope scope() {
        Item item = new Item();
        return new ProbeScope(new Holder(), new String[] {"item", "qty", "none", "label"},
            new Object[] {item, 5, null, "x"});
    }

    static boolean test(String json) throws Exception {
        return e(json).test(scope());
    }

    @Test
    public void pathsReadLocalsThisAndFieldsNeverGetters() throws Exception {
        Check.isTrue(test(op("==", path("item", "name"), lit("book"))), "a local's field (not the throwing getter)");
        Check.isTrue(test(op("==", path("count"), lit(3))), "a field of this by its bare name");
        Check.isTrue(test(op("==", path("this", "item", "id"), lit(7))), "this.item.id");
        Check.isTrue(test(op("==", path("item", "sizes", "length"), lit(3))), "array length");
        Check.isTrue(test(op("==", path("item", "next", "name"), "{\"op\":\"null\"}")), "null part way gives null");
        Check.isTrue(test(op("==", path("none"), "{\"op\":\"null\"}")), "a null local");
        Check.isTrue(test(op("!=", path("item"), "{\"op\":\"null\"}")), "not null");
    }

    @Test
    public void comparisonsAcrossTypes() throws Exception {
        Check.isTrue(test(op("<", path("qty"), lit(6))), "int < long literal");
        Check.isTrue(test(op(">=", path("item", "price"), lit(2.5))), "double");
        Check.isTrue(test(op("==", path("item", "id"), lit(7.0))), "7 == 7.0");
        Check.isTrue(test(op("==", path("item", "color"), lit("GREEN"))), "enum by name");
        Check.isTrue(test(op("==", path("item", "grade"), lit("A"))), "char with a string");
        Check.isTrue(test(op("<", path("item", "name"), lit("zebra"))), "string order");
        Check.isTrue(!test(op("<", path("none"), lit(1))), "null orders false");
        Check.isTrue(test(op("==", path("item"), path("item"))), "identity");
    }

    @Test
    public void logicShortCircuits() throws Exception {
        String guarded = "{\"op\":\"&&\",\"args\":[" + op("!=", path("none"), "{\"op\":\"null\"}") + ","
            + op("<", path("none", "x"), lit("s")) + "]}";
        Check.isTrue(!test(guarded), "&& stops at false");
        Check.isTrue(test("{\"op\":\"||\",\"args\":[" + op("==", path("qty"), lit(5)) + "," + path("nosuch") + "]}"), "|| stops at true");
        Check.isTrue(test("{\"op\":\"!\",\"args\":[" + op("==", path("qty"), lit(4)) + "]}"), "not");
    }

    static void fails(String json, String why) {
        try {
            test(json);
            throw new AssertionError("expected an evaluation error for " + json);
        } catch (Expr.EvalError err) {
            Check.contains(err.getMessage(), why, "reason");
        } catch (Exception other) {
            throw new AssertionError("unexpected " + other);
        }
    }

    @Test
    public void errorsBecomeConditionErrors() {
        fails(op("==", path("nosuch"), lit(1)), "unknown name 'nosuch'");
        fails(op("==", path("item", "nosuch"), lit(1)), "no field 'nosuch'");
        fails(op("<", path("label"), lit(3)), "cannot order java.lang.String");
        fails(op("==", path("label"), lit(3)), "cannot compare java.lang.String");
        fails(path("qty"), "is not a boolean");
        fails("{\"op\":\"&&\",\"args\":[" + path("qty") + "," + lit(true) + "]}", "is not a boolean");
    }

    @Test
    public void theParserKeepsItsBounds() {
        StringBuilder deep = new StringBuilder(lit(true));
        for (int i = 0; i < 20; i++) {
            deep = new StringBuilder("{\"op\":\"!\",\"args\":[" + deep + "]}");
        }
        bad(deep.toString(), "nested deeper");
        StringBuilder wide = new StringBuilder("{\"op\":\"&&\",\"args\":[");
        for (int i = 0; i < 16; i++) {
            wide.append(i > 0 ? "," : "").append(op("==", path("a", "b", "c"), op("==", lit(1), lit(2))));
        }
        bad(wide.append("]}").toString(), "more than 64 nodes");
        bad("{\"op\":\"call\",\"args\":[]}", "unknown expression op");
        bad("{\"op\":\"lit\",\"value\":[1]}", "a literal is");
        bad(op("<", lit(1), lit(2)).replace("]}", "," + lit(3) + "]}"), "takes 2 arguments");
        bad("{\"op\":\"path\",\"path\":[]}", "path must have");
        Check.equal("(a.b == 3)", e(op("==", path("a", "b"), lit(3))).toString(), "readable text");
        Check.isTrue(e(op("==", path("a", "b"), lit(3))) instanceof Expr.Compare, "parsed");
        Check.equal(List.of(), List.of(), "");
        Check.isTrue(Map.of().isEmpty(), "");
    }

    static void bad(String json, String why) {
        try {
            e(json);
            throw new AssertionError("expected a parse error for " + json);
        } catch (IllegalArgumentException err) {
            Check.contains(err.getMessage(), why, "reason");
        }
    }
}
