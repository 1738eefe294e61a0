package dev.lantern.agent;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * The application the probe end-to-end tests run under the agent: it calls {@link #handle}
 * every {@code 50 ms} until the test creates the stop file. LINE NUMBERS MATTER: the tests set
 * probes on the lines named by the constants below; keep them in step when editing.
 */
public final class ProbeApp {
    /** {@code String note = ...}: locals order, qty, seq, total are in scope. */
    static final int SNAPSHOT_LINE = 54;
    /** {@code calls++}. */
    static final int COUNT_LINE = 55;

    private ProbeApp() {}

    static final class Customer {
        final String name;
        final String password = "hunter2";
        Customer next;

        Customer(String name) {
            this.name = name;
        }

        public String getName() {
            throw new IllegalStateException("a getter was called");
        }

        @Override
        public String toString() {
            throw new IllegalStateException("toString was called");
        }
    }

    static final class Order {
        final long id;
        final Customer customer;
        final List<Integer> lines = new ArrayList<>();

        Order(long id, Customer customer) {
            this.id = id;
            this.customer = customer;
        }
    }

    static volatile int calls;

    static long handle(Order order, int qty, int seq) {
        long total = order.id * qty;
        String note = "qty " + qty;
        calls++;
        return total + note.length() + seq;
    }

    public static void main(String[] args) throws Exception {
        File stop = new File(args[0]);
        System.out.println("app started");
        Customer alice = new Customer("alice");
        alice.next = alice;
        long deadline = System.currentTimeMillis() + 120_000;
        int seq = 0;
        File late = new File(args[0] + ".late");
        while (!stop.exists() && System.currentTimeMillis() < deadline) {
            if (late.exists()) {
                new ProbeLate().run(seq);
            }
            Order o = new Order(40 + seq % 3, alice);
            o.lines.add(seq);
            handle(o, 1 + seq % 5, seq);
            seq++;
            Thread.sleep(50);
        }
        System.out.println("app done after " + calls + " calls");
    }
}
