//! The agent artifacts the appliance serves, so that application hosts on an air-gapped
//! network need nothing but the appliance. The Java agent jar is built by `build.rs` when
//! the build machine has a JDK and embedded here; without one, [`JAVA_AGENT`] is `None` and
//! the portal explains how to build the jar by hand.

/// The Java agent jar, when it was built with the appliance.
#[cfg(agent_jar)]
pub const JAVA_AGENT: Option<&[u8]> = Some(include_bytes!(concat!(
    env!("OUT_DIR"),
    "/lantern-agent.jar"
)));

/// The Java agent jar, when it was built with the appliance.
#[cfg(not(agent_jar))]
pub const JAVA_AGENT: Option<&[u8]> = None;

/// The file name users download the Java agent as.
pub const JAVA_AGENT_FILE: &str = "lantern-agent.jar";

/// How to build the Java agent by hand, for appliances built without a JDK.
pub const JAVA_AGENT_BUILD_HINT: &str = "This appliance was built without a JDK, so it cannot serve the Java agent. Build it from the \
     appliance's source with JDK 17 by running agents/java/build.sh /tmp/lantern-agent.jar, then copy the \
     jar to the application hosts.";
