//! What the simulated agents send, shared by the fleet bench (over the wire) and the
//! reachability bench (in process): a universe of library artifacts and Zipf-drawn
//! application profiles, their class names and their `class_loads` frames.
use super::*;
use lantern::agents::registry::AgentSummary;

/// Library artifacts in the universe. Zipf with exponent 1 over 4,000 ranks makes the top
/// few dozen libraries part of nearly every profile and the tail rare, the way
/// spring-core and jackson are everywhere and a niche driver is not.
pub const LIBRARIES: usize = 4_000;
const ZIPF_EXPONENT: f64 = 1.0;
/// Share of an agent's classes that come from shared libraries; the rest are its own.
const LIBRARY_SHARE_PERCENT: usize = 90;
/// Most bytes of class names (JSON-quoted) per message by default: below the 1 MiB message
/// limit with room for the envelope, i.e. as few messages as the protocol allows. The fleet
/// sends each message in websocket frames of at most `max_frame_bytes` (64 KiB).
pub const DEFAULT_FRAME_KIB: usize = 900;
/// The message type no appliance knows; its `error` reply marks the end of the storm.
pub const SYNC_TYPE: &str = "fleet.sync";

#[rustfmt::skip]
const PACKAGES: [&str; 12] = [
    "core", "util", "internal", "io", "http", "config", "annotation", "impl", "spi",
    "support", "json", "cache",
];
#[rustfmt::skip]
const ADJECTIVES: [&str; 16] = [
    "Abstract", "Default", "Simple", "Cached", "Lazy", "Async", "Composite", "Delegating",
    "Standard", "Generic", "Concurrent", "Buffered", "Mutable", "Immutable", "Shared",
    "Local",
];
#[rustfmt::skip]
const NOUNS: [&str; 16] = [
    "Factory", "Handler", "Builder", "Resolver", "Context", "Adapter", "Provider", "Registry",
    "Parser", "Serializer", "Listener", "Manager", "Converter", "Executor", "Decoder",
    "Filter",
];

/// splitmix64: deterministic, so every client process derives the same profiles.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// How many classes library `lib` has: 20 to 1,519, fixed per library.
pub fn library_size(lib: usize) -> usize {
    20 + (Rng(lib as u64 ^ 0x5EED).next_u64() % 1_500) as usize
}

/// The `i`-th class of library `lib` (~50 bytes, like real fully qualified names).
pub fn library_class(lib: usize, i: usize) -> String {
    format!(
        "org.vendor{}.lib{lib}.{}.{}{}{i}",
        lib % 97,
        PACKAGES[(i / 40) % PACKAGES.len()],
        ADJECTIVES[(i / 16) % ADJECTIVES.len()],
        NOUNS[i % NOUNS.len()]
    )
}

/// The `i`-th class of profile `p`'s own application code.
pub fn app_class(p: usize, i: usize) -> String {
    format!(
        "com.acme.app{p}.{}.{}{}{i}",
        PACKAGES[(i / 40) % PACKAGES.len()],
        ADJECTIVES[(i / 16) % ADJECTIVES.len()],
        NOUNS[i % NOUNS.len()]
    )
}

/// One application as a JVM would report it: which libraries it loaded classes from
/// (and how many of each, always the library's first ones, since the same code paths
/// load the same classes) and how many classes of its own.
pub struct Profile {
    pub libraries: Vec<(usize, usize)>,
    pub app_classes: usize,
}

struct Zipf {
    cdf: Vec<f64>,
}
impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for rank in 1..=n {
            sum += 1.0 / (rank as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }
    fn sample(&self, u: f64) -> usize {
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

/// Profile `p` with `classes` class names in all.
pub fn profile(p: usize, classes: usize) -> Profile {
    let zipf = Zipf::new(LIBRARIES, ZIPF_EXPONENT);
    let mut rng = Rng(0xF1EE7 ^ (p as u64).wrapping_mul(0x1000_0001));
    let mut remaining = classes * LIBRARY_SHARE_PERCENT / 100;
    let mut chosen = vec![false; LIBRARIES];
    let mut libraries = Vec::new();
    // Drawing without replacement: a repeat is drawn again, at most this many times.
    for _ in 0..200_000 {
        if remaining == 0 {
            break;
        }
        let lib = zipf.sample(rng.unit());
        if chosen[lib] {
            continue;
        }
        chosen[lib] = true;
        let size = library_size(lib);
        // A JVM loads 30 % to 99 % of a library it uses.
        let loaded = (size * (30 + rng.below(70) as usize) / 100).clamp(1, remaining);
        libraries.push((lib, loaded));
        remaining -= loaded;
    }
    // Every JVM of the fleet loads at least the first class of the most popular library
    // (as every JVM loads slf4j's LoggerFactory): the fleet's action probes that class.
    // Most profiles drew the library anyway; the others trade one class of their own for it.
    if classes > 0 && !libraries.iter().any(|(lib, _)| *lib == 0) {
        libraries.push((0, 1));
    }
    let from_libraries: usize = libraries.iter().map(|(_, n)| n).sum();
    Profile {
        libraries,
        app_classes: classes.saturating_sub(from_libraries),
    }
}

/// The class every profile loads (see [`profile`]).
pub fn shared_class() -> String {
    library_class(0, 0)
}

/// Whether a JVM of `profile` loaded `class`.
pub fn loads(profile: &Profile, class: &str) -> bool {
    profile.libraries.iter().any(|(lib, n)| {
        class.starts_with(&format!("org.vendor{}.lib{lib}.", lib % 97))
            && (0..*n).any(|i| library_class(*lib, i) == class)
    })
}

/// The `class_loads` frames of a profile's start-up state, ready to send (as `Bytes`, so
/// thousands of agents share one copy), and how many class names they carry.
pub fn frames(p: usize, profile: &Profile, frame_kib: usize) -> (Vec<Utf8Bytes>, usize) {
    let budget = frame_kib.clamp(1, DEFAULT_FRAME_KIB) * 1024;
    let mut artifacts = vec![Artifact {
        id: 0,
        location: "jrt:/".into(),
        kind: ArtifactKind::Runtime,
        parent: None,
        sha256: None,
        coordinates: vec![Coordinates {
            source: CoordinateSource::Runtime,
            group: None,
            name: "openjdk".into(),
            version: Some("17.0.15".into()),
        }],
    }];
    for (k, (lib, _)) in profile.libraries.iter().enumerate() {
        let version = format!("{}.{}.{}", 1 + lib % 5, lib % 13, lib % 7);
        artifacts.push(Artifact {
            id: k as u32 + 1,
            location: format!("/srv/app{p}/WEB-INF/lib/lib{lib}-{version}.jar"),
            kind: ArtifactKind::Jar,
            parent: None,
            sha256: None,
            coordinates: vec![Coordinates {
                source: CoordinateSource::PomProperties,
                group: Some(format!("org.vendor{}", lib % 97)),
                name: format!("lib{lib}"),
                version: Some(version),
            }],
        });
    }
    let app_ref = profile.libraries.len() as u32 + 1;
    artifacts.push(Artifact {
        id: app_ref,
        location: format!("/srv/app{p}/WEB-INF/classes"),
        kind: ArtifactKind::Directory,
        parent: None,
        sha256: None,
        coordinates: Vec::new(),
    });
    let mut sources: Vec<(u32, Box<dyn Iterator<Item = String>>)> = Vec::new();
    for (k, (lib, n)) in profile.libraries.iter().enumerate() {
        let lib = *lib;
        sources.push((
            k as u32 + 1,
            Box::new((0..*n).map(move |i| library_class(lib, i))),
        ));
    }
    sources.push((
        app_ref,
        Box::new((0..profile.app_classes).map(move |i| app_class(p, i))),
    ));

    let max_classes = LIMITS.max_classes_per_batch as usize;
    let mut frames = Vec::new();
    let mut total = 0;
    let mut batch = ClassLoads {
        seq: 1,
        initial: true,
        initial_done: false,
        artifacts,
        loads: vec![Load {
            artifact: 0,
            classes: Vec::new(),
            count: Some(1_500),
        }],
    };
    let mut in_batch = 0usize;
    let mut bytes = 0usize;
    fn flush(batch: &mut ClassLoads, last: bool, frames: &mut Vec<Utf8Bytes>) {
        batch.initial_done = last;
        let text = serde_json::to_string(&AgentMessage::ClassLoads(batch.clone()))
            .expect("class_loads serialises");
        assert!(
            text.len() < LIMITS.max_message_bytes as usize,
            "generated frame of {} bytes is over the 1 MiB limit",
            text.len()
        );
        frames.push(Utf8Bytes::from(text));
        batch.seq += 1;
        batch.artifacts.clear();
        batch.loads.clear();
    }
    for (r, names) in sources {
        for name in names {
            if in_batch == max_classes || bytes + name.len() + 3 > budget {
                flush(&mut batch, false, &mut frames);
                in_batch = 0;
                bytes = 0;
            }
            bytes += name.len() + 3;
            in_batch += 1;
            total += 1;
            match batch.loads.last_mut() {
                Some(load) if load.artifact == r => load.classes.push(name),
                _ => {
                    bytes += 32;
                    batch.loads.push(Load {
                        artifact: r,
                        classes: vec![name],
                        count: None,
                    });
                }
            }
        }
    }
    flush(&mut batch, true, &mut frames);
    (frames, total)
}

/// Distinct class names over the first `profiles` profiles, and their bytes: what an
/// index of names would have to hold.
pub fn distinct_names(profiles: usize, classes: usize) -> (usize, usize) {
    let mut widest: HashMap<usize, usize> = HashMap::new();
    let (mut count, mut bytes) = (0, 0);
    for p in 0..profiles {
        let prof = profile(p, classes);
        for (lib, n) in &prof.libraries {
            let w = widest.entry(*lib).or_default();
            *w = (*w).max(*n);
        }
        count += prof.app_classes;
        bytes += (0..prof.app_classes)
            .map(|i| app_class(p, i).len())
            .sum::<usize>();
    }
    for (lib, n) in widest {
        count += n;
        bytes += (0..n).map(|i| library_class(lib, i).len()).sum::<usize>();
    }
    (count, bytes)
}

/// The `hello` of fleet agent `g`.
pub fn hello(g: usize, profile: usize, source: Ipv4Addr, nonce: &str) -> Utf8Bytes {
    let hello = AgentMessage::Hello(Hello {
        protocol: 1,
        min_protocol: None,
        agent_id: format!("fleet-{g:05}"),
        instance_id: format!("{nonce}-{g}"),
        runtime: Runtime {
            name: "java".into(),
            version: "17.0.15".into(),
            vendor: Some("Eclipse Adoptium".into()),
        },
        agent_version: "0.1.0-fleet".into(),
        display_name: format!("app{profile}-{g}"),
        host: format!("sim-{source}"),
        pid: 1_000 + g as u32,
        tags: vec!["fleet".into(), format!("app{profile}")],
        // `actions`: the fleet answers the live-debugging messages as the Java agent does.
        capabilities: vec!["class_loads".into(), "actions".into()],
    });
    Utf8Bytes::from(serde_json::to_string(&hello).expect("hello serialises"))
}

pub fn sync(g: usize) -> Utf8Bytes {
    Utf8Bytes::from(json!({"type": SYNC_TYPE, "agent": g}).to_string())
}

/// What the registry keeps of fleet agent connection `session` (for the in-process
/// measurements, which register agents without a gateway).
pub fn summary(session: u64, hello: &Hello) -> AgentSummary {
    AgentSummary {
        session,
        session_id: format!("{session:016x}"),
        hello: hello.clone(),
        pool_id: "default".into(),
        pool_name: "Default".into(),
        peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 40_000)),
        protocol: 1,
        connected_ms: 0,
        last_heartbeat_ms: 0,
        classes_loaded: 0,
        artifacts: 0,
        initial_done: false,
        stats: None,
    }
}
