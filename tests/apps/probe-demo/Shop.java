/**
 * The live-debugging end-to-end test's application: it handles an order every 20 ms until it
 * is stopped. Each order carries a password field, which must never leave the process. The
 * test places actions on the line marked "probe here" (compiled with -g, so the agent sees the
 * local variables' names).
 */
public class Shop {
    static final class Customer {
        final String name;
        Customer(String name) {
            this.name = name;
        }
    }

    static final class Order {
        final long id;
        final int total;
        final String password;
        final Customer customer;
        Order(long id, int total, String password, Customer customer) {
            this.id = id;
            this.total = total;
            this.password = password;
            this.customer = customer;
        }
    }

    static int handle(Order order) {
        int doubled = order.total * 2; // probe here
        return doubled;
    }

    public static void main(String[] args) throws Exception {
        Customer alice = new Customer("alice");
        long sum = 0;
        for (long n = 1; ; n++) {
            sum += handle(new Order(n, (int) (n * 37 % 250), "hunter2", alice));
            Thread.sleep(20);
            if (n == 1) {
                System.out.println("ready");
                System.out.flush();
            }
            if (sum < 0) {
                break;
            }
        }
    }
}
