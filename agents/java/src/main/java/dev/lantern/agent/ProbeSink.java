package dev.lantern.agent;

import dev.lantern.hook.Hook;
import dev.lantern.hook.HookSink;

/**
 * Owns the link from the bootstrap {@link Hook} to the {@link ProbeEngine}. Kept apart from the
 * engine because it is the only agent class that names the hook's classes, and those exist only
 * once the hook jar is on the bootstrap path.
 */
final class ProbeSink implements HookSink {
    private final ProbeEngine engine;

    private ProbeSink(ProbeEngine engine) {
        this.engine = engine;
    }

    static void connect(ProbeEngine engine) {
        Hook.install(new ProbeSink(engine));
    }

    @Override
    public void hit(int point, Object self, Object[] locals) {
        engine.hit(point, self, locals);
    }

    @Override
    public void begin(int point) {
        engine.begin(point);
    }

    @Override
    public void end(int point) {
        engine.end(point);
    }
}
