package dev.lantern.agent;

import java.net.URL;

/**
 * One class load as the transformer saw it, before any interpretation: the JVM's internal name
 * ({@code a/b/C}), the defining loader and the code source location. Turning this into an
 * artifact happens later on the sender thread.
 */
final class LoadEvent {
    final String internalName;
    final ClassLoader loader;
    final URL location;

    LoadEvent(String internalName, ClassLoader loader, URL location) {
        this.internalName = internalName;
        this.loader = loader;
        this.location = location;
    }
}
