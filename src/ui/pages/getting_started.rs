//! Getting Started: how to connect the first Java or Python application to this appliance,
//! with this appliance's real URL and TLS pin filled into the command lines of
//! `INTERFACES.md` for each way of running (plain, systemd, container, Kubernetes).
//!
//! The agent-pool key stays a visible placeholder (`<AGENT_POOL_KEY>`): keys are shown once,
//! on the pool's page, and never again. The Java agent download is linked when this
//! appliance was built with it; otherwise the page says how to build it.

use maud::{Markup, html};

use crate::ui::components::{
    Status, Tone, badge, code_block, copyable, facts, notice, notice_with,
};
use crate::ui::layout::{self, PageCtx};
use crate::ui::nav::{self, NavId};

/// What the page needs to know about this appliance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GettingStartedInfo {
    /// The address browsers and agents use, `https://host:port` (no trailing path).
    pub url: String,
    /// The TLS SPKI pins agents accept, `sha256/BASE64`; the first is the current certificate.
    pub pins: Vec<String>,
    /// Whether `/downloads/lantern-agent.jar` serves the Java agent.
    pub java_agent_available: bool,
    /// Agents connected right now (in the viewer's pools).
    pub connected_agents: usize,
}

/// The placeholder shown where the agent-pool key goes.
pub const KEY_PLACEHOLDER: &str = "<AGENT_POOL_KEY>";
/// Where the templates assume the agent files are copied on the application host.
const AGENT_DIR: &str = "/opt/lantern";

/// The agent websocket endpoint for an appliance URL: `https://h:p` → `wss://h:p/agent/v1`.
pub fn agent_endpoint(url: &str) -> String {
    let base = url.trim().trim_end_matches('/');
    let ws = match (base.strip_prefix("https://"), base.strip_prefix("http://")) {
        (Some(rest), _) => format!("wss://{rest}"),
        (None, Some(rest)) => format!("ws://{rest}"),
        (None, None) => format!("wss://{base}"),
    };
    format!("{ws}/agent/v1")
}

/// The values filled into every template.
struct Filled {
    server: String,
    pin: String,
}

fn java_plain(f: &Filled) -> String {
    format!(
        "java \"-javaagent:{AGENT_DIR}/lantern-agent.jar=server={},key={KEY_PLACEHOLDER},pin={},name=my-service,tags=production;web\" \\\n     -jar app.jar",
        f.server, f.pin
    )
}

fn java_systemd(f: &Filled) -> String {
    format!(
        "# sudo systemctl edit my-service   (adds a drop-in; then: sudo systemctl restart my-service)\n\
         [Service]\n\
         Environment=\"JAVA_TOOL_OPTIONS=-javaagent:{AGENT_DIR}/lantern-agent.jar\"\n\
         Environment=\"LANTERN_SERVER={}\"\n\
         Environment=\"LANTERN_PIN={}\"\n\
         Environment=\"LANTERN_KEY={KEY_PLACEHOLDER}\"\n\
         Environment=\"LANTERN_TAGS=production;web\"",
        f.server, f.pin
    )
}

fn java_container_image() -> String {
    format!(
        "COPY lantern-agent.jar {AGENT_DIR}/lantern-agent.jar\n\
         ENV JAVA_TOOL_OPTIONS=\"-javaagent:{AGENT_DIR}/lantern-agent.jar\""
    )
}

fn container_run(f: &Filled) -> String {
    format!(
        "docker run \\\n  -e LANTERN_SERVER={} \\\n  -e LANTERN_PIN={} \\\n  -e LANTERN_KEY='{KEY_PLACEHOLDER}' \\\n  -e LANTERN_TAGS='production;web' \\\n  my-image",
        f.server, f.pin
    )
}

fn k8s_secret() -> String {
    format!("kubectl create secret generic lantern-agent --from-literal=key='{KEY_PLACEHOLDER}'")
}

/// The `env:` list of a Kubernetes container; `extra` adds the runtime's own variable.
fn k8s_env(f: &Filled, extra_name: &str, extra_value: &str) -> String {
    format!(
        "# In the Deployment: spec.template.spec.containers[].env\n\
         env:\n\
         \x20 - name: {extra_name}\n\
         \x20   value: \"{extra_value}\"\n\
         \x20 - name: LANTERN_SERVER\n\
         \x20   value: \"{}\"\n\
         \x20 - name: LANTERN_PIN\n\
         \x20   value: \"{}\"\n\
         \x20 - name: LANTERN_KEY\n\
         \x20   valueFrom:\n\
         \x20     secretKeyRef: {{ name: lantern-agent, key: key }}\n\
         \x20 - name: LANTERN_NAME\n\
         \x20   valueFrom:\n\
         \x20     fieldRef: {{ fieldPath: metadata.name }}",
        f.server, f.pin
    )
}

fn python_plain(f: &Filled) -> String {
    format!(
        "LANTERN_SERVER={} \\\nLANTERN_PIN={} \\\nLANTERN_KEY='{KEY_PLACEHOLDER}' \\\nPYTHONPATH={AGENT_DIR}/lantern_agent.zip \\\n  python3 -m lantern_agent -- app.py",
        f.server, f.pin
    )
}

fn python_systemd(f: &Filled) -> String {
    format!(
        "# sudo systemctl edit my-service   (adds a drop-in; then: sudo systemctl restart my-service)\n\
         [Service]\n\
         Environment=\"PYTHONPATH={AGENT_DIR}/lantern_agent.zip\"\n\
         Environment=\"LANTERN_SERVER={}\"\n\
         Environment=\"LANTERN_PIN={}\"\n\
         Environment=\"LANTERN_KEY={KEY_PLACEHOLDER}\"\n\
         # Start the same program through the agent:\n\
         ExecStart=\n\
         ExecStart=/usr/bin/python3 -m lantern_agent -- /srv/my-service/app.py",
        f.server, f.pin
    )
}

fn python_container_image() -> String {
    format!(
        "COPY lantern_agent.zip {AGENT_DIR}/lantern_agent.zip\n\
         ENV PYTHONPATH={AGENT_DIR}/lantern_agent.zip\n\
         CMD [\"python3\", \"-m\", \"lantern_agent\", \"--\", \"app.py\"]"
    )
}

/// One way of running, as a disclosure; `open` for the first so the page shows a command
/// without any click. `group` makes the disclosures of one runtime an accordion in browsers
/// that support `<details name>`; others simply open several.
fn way(group: &str, title: &str, open: bool, body: Markup) -> Markup {
    html! {
        details class="disclosure" name=(group) open[open] {
            summary { (title) }
            div class="disclosure-body" { (body) }
        }
    }
}

fn step(number: u8, title: &str, body: Markup) -> Markup {
    html! {
        li class="step" {
            section class="card" aria-labelledby={ "step-" (number) } {
                h2 class="card-title" id={ "step-" (number) } {
                    span class="step-number" aria-hidden="true" { (number) }
                    (title)
                }
                (body)
            }
        }
    }
}

/// The last step: green as soon as an agent in the viewer's pools is connected. The page
/// holds it as a live region, re-rendered by the server when agents come and go.
pub fn waiting_step(connected: usize) -> Markup {
    let agents = nav::entry(NavId::Agents);
    html! {
        @if connected > 0 {
            p {
                (badge(Status::Ok, "Connected"))
                " " (connected) @if connected == 1 { " agent is" } @else { " agents are" }
                " connected. See them under " a href=(agents.path) { (agents.label) } "."
            }
        } @else {
            p {
                (badge(Status::Unknown, "Waiting"))
                " No agent is connected yet. Once your application starts with the agent it appears under "
                a href=(agents.path) { (agents.label) } " within seconds, and this step turns green by itself."
            }
        }
    }
}

/// The Getting Started page.
pub fn page(ctx: &PageCtx, info: &GettingStartedInfo) -> Markup {
    let f = Filled {
        server: agent_endpoint(&info.url),
        pin: info
            .pins
            .first()
            .cloned()
            .unwrap_or_else(|| "sha256/<TLS_PIN>".to_owned()),
    };
    let pools = nav::entry(NavId::AgentPools);
    let appliance = html! {
        p { "Agents connect out to this address over TLS and check the pin before they send their key, so they only ever talk to this appliance." }
        (facts(&[
            ("Appliance address", copyable(&info.url, "appliance address")),
            ("Agent endpoint", copyable(&f.server, "agent endpoint")),
            (if info.pins.len() > 1 { "TLS pins" } else { "TLS pin" }, html! {
                @if info.pins.is_empty() {
                    (notice_with(Tone::Warning, "No TLS pin is known", html! {
                        p { "Run " code { "lantern tls pin" } " on the appliance host to print it." }
                    }))
                } @else {
                    ul class="plain-list" {
                        @for pin in &info.pins { li { (copyable(pin, "TLS pin")) } }
                    }
                    @if info.pins.len() > 1 {
                        p class="field-help" { "Agents accept any of these while the certificate is being replaced; the first is the current one." }
                    }
                }
            }),
        ]))
    };
    let key = html! {
        p {
            "Each agent proves it belongs to an agent pool with that pool's key. Open a pool under "
            a href=(pools.path) { "Settings › " (pools.label) } " and make or rotate its key there: "
            "the key is shown once, so copy it straight into your deployment's secret store. "
            "The commands below show " code { (KEY_PLACEHOLDER) } " where it goes."
        }
    };
    let download = html! {
        p {
            "The appliance serves both agents itself, so the application hosts need no internet access. "
            "Copy the agent to " code { (AGENT_DIR) } " on the application host (or into its image):"
        }
        ul class="plain-list" {
            li {
                strong { "Java" } ": "
                @if info.java_agent_available {
                    a href="/downloads/lantern-agent.jar" download { "lantern-agent.jar" }
                } @else {
                    code { "lantern-agent.jar" }
                }
                " (Java 17 or newer)"
            }
            li { strong { "Python" } ": " code { "lantern_agent.zip" } " (CPython 3.11 or newer, standard library only)" }
        }
        @if !info.java_agent_available {
            (notice(Tone::Warning, crate::agents::downloads::JAVA_AGENT_BUILD_HINT))
        }
        p class="field-help" { "Scripts can fetch the jar with an API key: " code { "curl --cacert lantern.pem -H \"Authorization: Bearer $LANTERN_API_KEY\" -O " (info.url) "/downloads/lantern-agent.jar" } }
        (notice(Tone::Info, "The Python agent is not part of this version yet."))
    };
    let java = html! {
        h3 { "Java" }
        p class="muted" { "Works on unmodified applications: plain JVM, Tomcat, Spring Boot fat jars. " code { "name" } " and " code { "tags" } " are optional." }
        (way("java", "Plain JVM", true, code_block(&java_plain(&f), "Command line")))
        (way("java", "systemd service", false, html! {
            p { "A drop-in adds the agent to an existing unit through " code { "JAVA_TOOL_OPTIONS" } "; the settings come from the environment." }
            (code_block(&java_systemd(&f), "systemd drop-in"))
        }))
        (way("java", "Container", false, html! {
            p { "Put the agent into the image; pass the settings when the container starts, so the key never ends up in an image layer." }
            (code_block(&java_container_image(), "Dockerfile"))
            (code_block(&container_run(&f), "docker run"))
        }))
        (way("java", "Kubernetes", false, html! {
            p { "Build the image as for a container, keep the key in a Secret and set the environment in the Deployment. Each pod reports its own name." }
            (code_block(&k8s_secret(), "kubectl"))
            (code_block(&k8s_env(&f, "JAVA_TOOL_OPTIONS", &format!("-javaagent:{AGENT_DIR}/lantern-agent.jar")), "Deployment env"))
        }))
    };
    let python = html! {
        h3 { "Python" }
        p class="muted" {
            "Run the program through the agent: a script, or " code { "-m module" } " instead of " code { "app.py" } ". "
            "From code, " code { "import lantern_agent; lantern_agent.start()" } " reads the same environment."
        }
        (way("python", "Plain python", true, code_block(&python_plain(&f), "Command line")))
        (way("python", "systemd service", false, html! {
            p { "A drop-in sets the environment and starts the same program through the agent." }
            (code_block(&python_systemd(&f), "systemd drop-in"))
        }))
        (way("python", "Container", false, html! {
            p { "Put the agent into the image; pass the settings when the container starts." }
            (code_block(&python_container_image(), "Dockerfile"))
            (code_block(&container_run(&f), "docker run"))
        }))
        (way("python", "Kubernetes", false, html! {
            p { "Build the image as for a container, keep the key in a Secret, set the environment in the Deployment and start the program through the agent ("
                code { "command: [\"python3\", \"-m\", \"lantern_agent\", \"--\", \"app.py\"]" } ")." }
            (code_block(&k8s_secret(), "kubectl"))
            (code_block(&k8s_env(&f, "PYTHONPATH", &format!("{AGENT_DIR}/lantern_agent.zip")), "Deployment env"))
        }))
    };
    let waiting = html! {
        div data-live="/entities/agents/live?view=getting-started" {
            (waiting_step(info.connected_agents))
        }
    };
    let body = html! {
        ol class="steps" {
            (step(1, "This appliance", appliance))
            (step(2, "An agent-pool key", key))
            (step(3, "Get the agent", download))
            (step(4, "Start your application with the agent", html! { (java) (python) }))
            (step(5, "Wait for your first agent", waiting))
        }
    };
    let entry = nav::entry(NavId::GettingStarted);
    layout::page(ctx, entry.label, entry.summary, None, body)
}

#[cfg(test)]
// Tests may fail loudly; the denies exist for production paths.
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::ui::layout::UserView;
    use crate::ui::test_support::assert_csp_clean;

    fn render(info: &GettingStartedInfo) -> String {
        let all = |_: NavId| true;
        let ctx = PageCtx {
            company: "Acme",
            tier: "Community",
            user: Some(UserView {
                name: "Ada",
                email: "a@x",
            }),
            current_path: "/getting-started",
            csrf: "t",
            visible: &all,
        };
        page(&ctx, info).into_string()
    }

    #[test]
    fn endpoint_from_url() {
        assert_eq!(
            agent_endpoint("https://10.0.0.5:8443"),
            "wss://10.0.0.5:8443/agent/v1"
        );
        assert_eq!(
            agent_endpoint("https://lantern.local:8443/"),
            "wss://lantern.local:8443/agent/v1"
        );
        assert_eq!(
            agent_endpoint("http://127.0.0.1:1"),
            "ws://127.0.0.1:1/agent/v1"
        );
    }

    #[test]
    fn commands_are_filled_with_url_and_pin_and_key_placeholder() {
        let info = GettingStartedInfo {
            url: "https://10.0.0.5:8443".into(),
            pins: vec!["sha256/AbC+/def=".into(), "sha256/old=".into()],
            java_agent_available: false,
            connected_agents: 0,
        };
        let html = render(&info);
        assert_csp_clean(&html);
        assert!(html.contains(
            "java &quot;-javaagent:/opt/lantern/lantern-agent.jar=server=wss://10.0.0.5:8443/agent/v1,key=&lt;AGENT_POOL_KEY&gt;,pin=sha256/AbC+/def=,"
        ));
        assert!(html.contains("LANTERN_SERVER=wss://10.0.0.5:8443/agent/v1"));
        assert!(html.contains("python3 -m lantern_agent -- app.py"));
        for way in [
            "Plain JVM",
            "systemd service",
            "Container",
            "Kubernetes",
            "Plain python",
        ] {
            assert!(html.contains(&format!("<summary>{way}</summary>")), "{way}");
        }
        assert!(html.contains("TLS pins") && html.contains("sha256/old="));
        assert!(
            html.contains("built without a JDK"),
            "the missing jar is explained"
        );
        assert!(!html.contains("href=\"/downloads/lantern-agent.jar\""));
        assert!(html.contains("No agent is connected yet"));
        let with_jar = render(&GettingStartedInfo {
            java_agent_available: true,
            connected_agents: 2,
            ..info.clone()
        });
        assert!(with_jar.contains("href=\"/downloads/lantern-agent.jar\""));
        assert!(with_jar.contains("2 agents are connected"));
        // The key is never anything but the placeholder.
        assert!(!html.contains("key=lk_"));
    }

    #[test]
    fn missing_pin_is_said_plainly() {
        let html = render(&GettingStartedInfo {
            url: "https://h:8443".into(),
            pins: vec![],
            ..Default::default()
        });
        assert!(html.contains("No TLS pin is known"));
        assert!(html.contains("pin=sha256/&lt;TLS_PIN&gt;"));
    }
}
