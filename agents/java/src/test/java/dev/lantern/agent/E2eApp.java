package dev.lantern.agent;

import java.io.File;

/**
 * The application the end-to-end tests run under the agent: it loads a class of its own and,
 * when given, one from a jar, then waits until the test creates the stop file (or 60 s pass).
 */
public final class E2eApp {
    private E2eApp() {}

    /** Loaded late, so that it reaches the agent through the transformer. */
    static final class Payload {
        static String hello() {
            return "payload";
        }
    }

    public static void main(String[] args) throws Exception {
        File stop = new File(args[0]);
        System.out.println("app started");
        Thread.sleep(200);
        System.out.println(Payload.hello());
        if (args.length > 1) {
            System.out.println(Class.forName(args[1]).getName());
        }
        long deadline = System.currentTimeMillis() + 60_000;
        while (!stop.exists() && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        System.out.println("app done");
    }
}
