//! The portal's navigation: one entry per page of `PRODUCT.md`, in display order, with the
//! path, the one-sentence summary shown under the page title and the list of what the page
//! will do (shown by `pages::planned` until the feature is built).
//!
//! This table is the single source of truth for page titles, paths and the left navigation;
//! the HTTP router and the permission table name pages by [`NavId`].

/// One page of the portal that appears in the left navigation.
///
/// The discriminant equals the position of the page's entry in [`NAV`] (checked at compile
/// time below), which is what lets [`entry`] find it without searching or panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NavId {
    /// Platform: guided onboarding of the first agents.
    GettingStarted,
    /// Platform: snapshots, dynamic logs and the usage dashboard.
    DataExplorer,
    /// Platform › Entities: connected agents.
    Agents,
    /// Platform › Entities: named rule sets over tags and agent names.
    CustomSources,
    /// Platform › Entities: tags reported by agents.
    Tags,
    /// Platform › Entities: every action ("Action Information").
    Actions,
    /// Platform: integrations and their live status.
    Integrations,
    /// Platform: Runtime Reachability Assessment.
    Reachability,
    /// Settings › Organization: company name, tier and license use.
    NameAndPlan,
    /// Settings › Organization: usage charts over time.
    Usage,
    /// Settings › IAM: users and their roles.
    Users,
    /// Settings › IAM: agent pools and their keys.
    AgentPools,
    /// Settings › IAM: access groups.
    AccessGroups,
    /// Settings › IAM: time-limited grants.
    TemporaryAccess,
    /// Settings › IAM: login method, OIDC, self-registration, SCIM.
    Identity,
    /// Settings: the on-prem AI Debugger endpoint.
    AiDebugger,
    /// Settings › Security: PII redaction patterns.
    PiiRedaction,
    /// Settings › Security: package, class, file and path blocklist.
    Blocklist,
    /// Settings › Security: the tamper-evident audit trail.
    AuditEvents,
    /// Settings › Security: API keys.
    ApiKeys,
    /// Settings › Compliance: caps, TTLs, retention and capture limits.
    ServiceConfiguration,
    /// Settings › Compliance: host and process diagnostics.
    Diagnostics,
    /// Settings › Runtime Reachability: watched packages.
    WatchedPackages,
    /// Settings › Runtime Reachability: webhooks.
    Webhooks,
    /// Settings › Runtime Reachability: runtime SBOM export.
    Sbom,
    /// Settings › Runtime Reachability: offline vulnerability database import.
    PackageEnrichment,
}

impl NavId {
    /// Every page, in navigation order (handy for permission tables and tests).
    pub const ALL: [NavId; 26] = [
        NavId::GettingStarted,
        NavId::DataExplorer,
        NavId::Agents,
        NavId::CustomSources,
        NavId::Tags,
        NavId::Actions,
        NavId::Integrations,
        NavId::Reachability,
        NavId::NameAndPlan,
        NavId::Usage,
        NavId::Users,
        NavId::AgentPools,
        NavId::AccessGroups,
        NavId::TemporaryAccess,
        NavId::Identity,
        NavId::AiDebugger,
        NavId::PiiRedaction,
        NavId::Blocklist,
        NavId::AuditEvents,
        NavId::ApiKeys,
        NavId::ServiceConfiguration,
        NavId::Diagnostics,
        NavId::WatchedPackages,
        NavId::Webhooks,
        NavId::Sbom,
        NavId::PackageEnrichment,
    ];

    /// This page's navigation entry (same as [`entry`]).
    pub fn entry(self) -> &'static NavEntry {
        entry(self)
    }
}

/// The two groups of the left navigation (`UI.md`: "Platform" and "Settings").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NavGroup {
    /// Day-to-day work: agents, actions, data, reachability.
    Platform,
    /// Configuration of the organisation, identity, security and compliance.
    Settings,
}

impl NavGroup {
    /// The heading shown in the navigation.
    pub fn label(self) -> &'static str {
        match self {
            NavGroup::Platform => "Platform",
            NavGroup::Settings => "Settings",
        }
    }
}

/// One navigation entry: everything the frame and the placeholder page need to know.
#[derive(Debug, PartialEq, Eq)]
pub struct NavEntry {
    /// Which page this is.
    pub id: NavId,
    /// The navigation group it is listed under.
    pub group: NavGroup,
    /// The section heading inside the group, if the page belongs to one.
    pub section: Option<&'static str>,
    /// The link text and the page title.
    pub label: &'static str,
    /// The absolute path of the page (no trailing slash).
    pub path: &'static str,
    /// One sentence: what the page is for (shown under the title).
    pub summary: &'static str,
    /// What the page will do, one point each, from `PRODUCT.md`.
    pub planned: &'static [&'static str],
}

const ENTITIES: Option<&str> = Some("Entities");
const ORGANIZATION: Option<&str> = Some("Organization");
const IAM: Option<&str> = Some("Identity and Access Management");
const SECURITY: Option<&str> = Some("Security");
const COMPLIANCE: Option<&str> = Some("Compliance");
const REACHABILITY: Option<&str> = Some("Runtime Reachability");

const ENTRIES: [NavEntry; 26] = [
    NavEntry {
        id: NavId::GettingStarted,
        group: NavGroup::Platform,
        section: None,
        label: "Getting Started",
        path: "/getting-started",
        summary: "Connect your first Java or Python application to this appliance.",
        planned: &[
            "Guided onboarding per runtime (Java, Python) and per way of running (plain, systemd, container, Kubernetes).",
            "Exact command lines pre-filled with this appliance's URL, an agent-pool key and the TLS pin.",
            "Agent downloads served by the appliance itself, so no internet access is needed.",
            "A \"waiting for your first agent\" step that turns green when it connects.",
        ],
    },
    NavEntry {
        id: NavId::DataExplorer,
        group: NavGroup::Platform,
        section: None,
        label: "Data Explorer",
        path: "/data-explorer",
        summary: "Browse the snapshots and dynamic logs your actions have captured.",
        planned: &[
            "Snapshots with stack frames, variables and watch expressions; per hit the time, agent and tags.",
            "Dynamic log lines from every agent in one place.",
            "Filters by action, agent, tag, pool, author, time range and free text, kept in the URL.",
            "The usage dashboard.",
        ],
    },
    NavEntry {
        id: NavId::Agents,
        group: NavGroup::Platform,
        section: ENTITIES,
        label: "Agents",
        path: "/entities/agents",
        summary: "See every agent connected to this appliance and what it is doing.",
        planned: &[
            "A live list: name, runtime and version, agent version, host, pid, pool, tags, connected since, last heartbeat, status, actions installed, classes loaded.",
            "Updates in place without reloading the page.",
            "A detail page per agent.",
            "Disconnect an agent.",
        ],
    },
    NavEntry {
        id: NavId::CustomSources,
        group: NavGroup::Platform,
        section: ENTITIES,
        label: "Custom Sources",
        path: "/entities/custom-sources",
        summary: "Group agents by rules over their tags or names so actions can target them.",
        planned: &[
            "Named rule sets over tag or agent name, with * wildcards, matching any or all rules.",
            "Create and delete custom sources.",
            "See which agents each source matches right now.",
        ],
    },
    NavEntry {
        id: NavId::Tags,
        group: NavGroup::Platform,
        section: ENTITIES,
        label: "Tags",
        path: "/entities/tags",
        summary: "See the tags your agents report and which agents carry each one.",
        planned: &[
            "A list of every tag with the agents that carry it.",
            "Delete a tag.",
        ],
    },
    NavEntry {
        id: NavId::Actions,
        group: NavGroup::Platform,
        section: ENTITIES,
        label: "Actions",
        path: "/entities/actions",
        summary: "Follow every snapshot, log and metric action and its status on each agent.",
        planned: &[
            "Every action with type, status, location (file:line), condition, target, author, created and updated times, expiry and hits.",
            "Per-agent status with its reason: pending class load, installed, error with message, completed, expired, rate-limited.",
            "Disable or delete an action.",
        ],
    },
    NavEntry {
        id: NavId::Integrations,
        group: NavGroup::Platform,
        section: None,
        label: "Integrations",
        path: "/integrations",
        summary: "Connect Lantern to the site's other tools and watch their delivery status.",
        planned: &[
            "Every integration with its live status: last delivery and last error.",
            "Settings per integration: webhooks, Slack-compatible chat, Prometheus, syslog, StatsD.",
        ],
    },
    NavEntry {
        id: NavId::Reachability,
        group: NavGroup::Platform,
        section: None,
        label: "Runtime Reachability",
        path: "/reachability",
        summary: "See which third-party packages are really loaded, and which of them are vulnerable.",
        planned: &[
            "Which packages and classes are loaded right now and since when, in how many agents, by pool and tag.",
            "Each package's known vulnerabilities from the imported database.",
            "Ranked so that vulnerable and loaded comes first, with vulnerable but never loaded clearly separated.",
            "Drill-down to the agents and classes.",
        ],
    },
    NavEntry {
        id: NavId::NameAndPlan,
        group: NavGroup::Settings,
        section: ORGANIZATION,
        label: "Name & Plan",
        path: "/settings/organization/name-and-plan",
        summary: "Your organization's name, license tier and how much of the license is used.",
        planned: &[
            "Company name and license tier.",
            "Agents and users used against the number licensed.",
            "License expiry and license upload.",
        ],
    },
    NavEntry {
        id: NavId::Usage,
        group: NavGroup::Settings,
        section: ORGANIZATION,
        label: "Usage Dashboard",
        path: "/settings/organization/usage",
        summary: "How the appliance is used over time.",
        planned: &[
            "Charts over time: connected agents, actions created, snapshots, log lines, active users.",
            "License utilisation over time.",
        ],
    },
    NavEntry {
        id: NavId::Users,
        group: NavGroup::Settings,
        section: IAM,
        label: "Users",
        path: "/settings/iam/users",
        summary: "Manage who can sign in and which roles they hold.",
        planned: &[
            "RBAC or non-RBAC mode.",
            "Create users, or invite them with an activation link.",
            "Enable, disable and delete users.",
            "Assign roles.",
        ],
    },
    NavEntry {
        id: NavId::AgentPools,
        group: NavGroup::Settings,
        section: IAM,
        label: "Agent Pools",
        path: "/settings/iam/agent-pools",
        summary: "Manage the pools agents connect to, each with its own key.",
        planned: &[
            "Create pools, each with its own agent-pool key.",
            "Rotate a key with a grace period for the old one.",
            "Detach and re-enable a pool.",
            "A live count of the agents in each pool.",
        ],
    },
    NavEntry {
        id: NavId::AccessGroups,
        group: NavGroup::Settings,
        section: IAM,
        label: "Access Groups",
        path: "/settings/iam/access-groups",
        summary: "Decide which users may debug on which agent pools.",
        planned: &[
            "Groups with their members and agent pools.",
            "Group admins who manage their own groups.",
        ],
    },
    NavEntry {
        id: NavId::TemporaryAccess,
        group: NavGroup::Settings,
        section: IAM,
        label: "Temporary Access",
        path: "/settings/iam/temporary-access",
        summary: "Grant roles on agent pools for a limited time.",
        planned: &[
            "Time-limited grants of roles on pools to users.",
            "Grants expire by themselves.",
        ],
    },
    NavEntry {
        id: NavId::Identity,
        group: NavGroup::Settings,
        section: IAM,
        label: "Identity Configuration",
        path: "/settings/iam/identity",
        summary: "Choose how people sign in and how accounts are provisioned.",
        planned: &[
            "Login method: e-mail and password, or single sign-on with OpenID Connect.",
            "OpenID Connect settings for the site's own identity provider.",
            "Self-registration with allowed e-mail domains.",
            "SCIM 2.0 provisioning token and switches.",
        ],
    },
    NavEntry {
        id: NavId::AiDebugger,
        group: NavGroup::Settings,
        section: None,
        label: "AI Debugger",
        path: "/settings/ai-debugger",
        summary: "Connect an on-prem, OpenAI-compatible model that helps explain snapshots.",
        planned: &[
            "Endpoint URL, model and key of an on-prem OpenAI-compatible service.",
            "Which roles may use it and what data may be sent, always after PII redaction.",
            "\"Explain this snapshot\" on a snapshot's page.",
        ],
    },
    NavEntry {
        id: NavId::PiiRedaction,
        group: NavGroup::Settings,
        section: SECURITY,
        label: "PII Redaction",
        path: "/settings/security/pii-redaction",
        summary: "Keep personal data out of snapshots and logs before it leaves the application.",
        planned: &[
            "Patterns by variable name or value (RE2-style regular expressions) and a built-in library.",
            "A tester to try patterns on sample values.",
            "Templates per agent pool.",
            "Changes pushed live to running agents.",
        ],
    },
    NavEntry {
        id: NavId::Blocklist,
        group: NavGroup::Settings,
        section: SECURITY,
        label: "Blocklist",
        path: "/settings/security/blocklist",
        summary: "Forbid actions in chosen packages, classes, files and paths.",
        planned: &[
            "Package, class, file and path patterns, with exceptions.",
            "Enforced by the appliance and by the agents.",
            "Changes pushed live to running agents.",
        ],
    },
    NavEntry {
        id: NavId::AuditEvents,
        group: NavGroup::Settings,
        section: SECURITY,
        label: "Audit Events",
        path: "/settings/security/audit-events",
        summary: "Review every security-relevant event in a trail that proves it was not edited.",
        planned: &[
            "Every security-relevant event, filterable.",
            "Export as CSV or JSON.",
            "A tamper-evident hash chain.",
        ],
    },
    NavEntry {
        id: NavId::ApiKeys,
        group: NavGroup::Settings,
        section: SECURITY,
        label: "API Keys",
        path: "/settings/security/api-keys",
        summary: "Create and revoke keys for scripts and automation that use the REST API.",
        planned: &[
            "Keys with a label, scopes and an expiry (90 days by default).",
            "Each key shown once, when it is created.",
            "Revoke a key.",
        ],
    },
    NavEntry {
        id: NavId::ServiceConfiguration,
        group: NavGroup::Settings,
        section: COMPLIANCE,
        label: "Service Configuration",
        path: "/settings/compliance/service-configuration",
        summary: "Set the limits and retention periods the appliance enforces.",
        planned: &[
            "Hit caps and the minimum action TTL.",
            "Metric data expiry.",
            "Retention of snapshots, logs and audit events.",
            "Capture limits for agents.",
        ],
    },
    NavEntry {
        id: NavId::Diagnostics,
        group: NavGroup::Settings,
        section: COMPLIANCE,
        label: "System Diagnostics",
        path: "/settings/compliance/diagnostics",
        summary: "Check the health of the appliance and its host.",
        planned: &[
            "Host CPU, memory and disk; process memory and open files; store size.",
            "Connected agents and ingest rates.",
            "The recent server log.",
            "A downloadable diagnostics bundle with secrets removed.",
        ],
    },
    NavEntry {
        id: NavId::WatchedPackages,
        group: NavGroup::Settings,
        section: REACHABILITY,
        label: "Watched Packages",
        path: "/settings/reachability/watched-packages",
        summary: "List the packages you want to hear about as soon as they are loaded.",
        planned: &[
            "Add packages by hand or from a CSV file.",
            "Maven groupId:artifactId or PyPI name, with version and classes.",
        ],
    },
    NavEntry {
        id: NavId::Webhooks,
        group: NavGroup::Settings,
        section: REACHABILITY,
        label: "Webhooks",
        path: "/settings/reachability/webhooks",
        summary: "Send reachability events to other systems over HTTP.",
        planned: &[
            "URL, headers and a JSON template with ${ID}, ${DATE}, ${TYPE}, ${TITLE} and ${EVENT_MSG}.",
            "An HMAC signature on every delivery.",
            "Retries with back-off and a delivery log.",
        ],
    },
    NavEntry {
        id: NavId::Sbom,
        group: NavGroup::Settings,
        section: REACHABILITY,
        label: "SBOM",
        path: "/settings/reachability/sbom",
        summary: "Export a software bill of materials of what is really loaded at runtime.",
        planned: &[
            "CycloneDX 1.6 with evidence of where each component was loaded.",
            "SPDX 2.3 and CSV.",
            "Scoped by agent pool or tag.",
        ],
    },
    NavEntry {
        id: NavId::PackageEnrichment,
        group: NavGroup::Settings,
        section: REACHABILITY,
        label: "Package Enrichment",
        path: "/settings/reachability/package-enrichment",
        summary: "Import vulnerability data offline so loaded packages can be matched to advisories.",
        planned: &[
            "Import OSV dump zips without internet access.",
            "How fresh the imported data is.",
            "A clear warning while no advisories are loaded.",
        ],
    },
];

/// Compile-time proof that `ENTRIES[i].id as usize == i`, so [`entry`] never misses.
const fn ids_match_positions(mut rest: &[NavEntry]) -> bool {
    let mut i = 0;
    while let [first, tail @ ..] = rest {
        if first.id as usize != i {
            return false;
        }
        i += 1;
        rest = tail;
    }
    i == NavId::ALL.len()
}
const _: () = assert!(
    ids_match_positions(&ENTRIES),
    "NavId order must match ENTRIES"
);

/// Every navigation entry, in display order (Platform first, then Settings).
pub static NAV: &[NavEntry] = &ENTRIES;

/// The path of the Profile page (reached from the header menu, not the navigation).
pub const PROFILE_PATH: &str = "/profile";

/// The entry whose path is exactly `path` (no normalisation: `/tags/` is not `/tags`).
pub fn by_path(path: &str) -> Option<&'static NavEntry> {
    NAV.iter().find(|e| e.path == path)
}

/// The entry of a page.
pub fn entry(id: NavId) -> &'static NavEntry {
    // The const assertion above makes the `get` always succeed; the fallback only exists
    // so that no panic path is compiled in.
    match ENTRIES.get(id as usize) {
        Some(e) => e,
        None => &ENTRIES[0],
    }
}

/// The entry the current path belongs to: an exact match, or the entry whose path is a
/// prefix of `path` at a `/` boundary (so `/entities/agents/42` highlights Agents).
pub fn current(path: &str) -> Option<&'static NavEntry> {
    by_path(path).or_else(|| {
        NAV.iter()
            .filter(|e| {
                path.strip_prefix(e.path)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|e| e.path.len())
    })
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
    use std::collections::HashSet;

    #[test]
    fn paths_and_labels_are_unique() {
        let paths: HashSet<_> = NAV.iter().map(|e| e.path).collect();
        assert_eq!(paths.len(), NAV.len());
        let labels: HashSet<_> = NAV.iter().map(|e| (e.group, e.label)).collect();
        assert_eq!(labels.len(), NAV.len());
        assert!(!paths.contains(PROFILE_PATH));
    }

    #[test]
    fn groups_match_paths() {
        for e in NAV {
            match e.group {
                NavGroup::Settings => assert!(e.path.starts_with("/settings/"), "{}", e.path),
                NavGroup::Platform => assert!(!e.path.starts_with("/settings"), "{}", e.path),
            }
            assert!(e.path.starts_with('/') && !e.path.ends_with('/'));
            assert!(
                !e.summary.is_empty() && e.summary.ends_with('.'),
                "{}",
                e.label
            );
            assert!(!e.planned.is_empty(), "{}", e.label);
        }
        // Platform entries come first, so the navigation renders each group once.
        let first_settings = NAV.iter().position(|e| e.group == NavGroup::Settings);
        let last_platform = NAV.iter().rposition(|e| e.group == NavGroup::Platform);
        assert!(last_platform < first_settings);
    }

    #[test]
    fn sections_are_contiguous() {
        let mut seen = HashSet::new();
        let mut prev = None;
        for e in NAV {
            if e.section != prev {
                if let Some(s) = e.section {
                    assert!(seen.insert(s), "section {s} split in two");
                }
                prev = e.section;
            }
        }
    }

    #[test]
    fn every_id_has_its_entry() {
        assert_eq!(NAV.len(), NavId::ALL.len());
        for id in NavId::ALL {
            assert_eq!(entry(id).id, id);
            assert_eq!(by_path(entry(id).path).map(|e| e.id), Some(id));
        }
    }

    #[test]
    fn exact_paths_from_the_brief() {
        let want = [
            "/getting-started",
            "/data-explorer",
            "/entities/agents",
            "/entities/custom-sources",
            "/entities/tags",
            "/entities/actions",
            "/integrations",
            "/reachability",
            "/settings/organization/name-and-plan",
            "/settings/organization/usage",
            "/settings/iam/users",
            "/settings/iam/agent-pools",
            "/settings/iam/access-groups",
            "/settings/iam/temporary-access",
            "/settings/iam/identity",
            "/settings/ai-debugger",
            "/settings/security/pii-redaction",
            "/settings/security/blocklist",
            "/settings/security/audit-events",
            "/settings/security/api-keys",
            "/settings/compliance/service-configuration",
            "/settings/compliance/diagnostics",
            "/settings/reachability/watched-packages",
            "/settings/reachability/webhooks",
            "/settings/reachability/sbom",
            "/settings/reachability/package-enrichment",
        ];
        let got: Vec<_> = NAV.iter().map(|e| e.path).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn current_matches_sub_paths_at_boundaries() {
        assert_eq!(
            current("/entities/agents/abc").map(|e| e.id),
            Some(NavId::Agents)
        );
        assert_eq!(current("/entities/agentsx").map(|e| e.id), None);
        assert_eq!(current("/profile"), None);
        assert_eq!(
            current("/reachability").map(|e| e.id),
            Some(NavId::Reachability)
        );
    }
}
