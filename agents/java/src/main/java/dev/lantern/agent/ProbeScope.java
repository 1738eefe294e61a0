package dev.lantern.agent;

/**
 * Owns what an expression may see at one probe hit: {@code this} and the probed frame's local
 * variables, by the names the weaver reported. Built once per hit, only when needed.
 */
final class ProbeScope {
    final Object self;
    final String[] names;
    final Object[] values;

    ProbeScope(Object self, String[] names, Object[] values) {
        this.self = self;
        this.names = names;
        this.values = values == null ? new Object[0] : values;
    }

    /** The index of local {@code name}, or -1. */
    int indexOf(String name) {
        int n = Math.min(names.length, values.length);
        for (int i = 0; i < n; i++) {
            if (names[i].equals(name)) {
                return i;
            }
        }
        return -1;
    }
}
