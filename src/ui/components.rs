//! Small building blocks shared by every page: form fields with labels, help and errors, the
//! error summary, notices, status badges, empty states, copyable values and secrets shown
//! once, confirmation of destructive actions, tables, and human formatting of times, sizes,
//! durations and counts.
//!
//! All of them render plain server-side HTML that works without JavaScript; copy buttons are
//! rendered `hidden` and revealed by `lantern.js`, so nobody sees a button that does nothing.

use maud::{Markup, html};

// ---------------------------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------------------------

/// Validation errors of one submitted form: an optional overall message and messages per
/// field (by the field's `name`). Rendered next to each field *and* as a summary on top.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormErrors {
    /// A message about the form as a whole (e.g. "The current password is wrong.").
    pub summary: Option<String>,
    /// `(field name, message)`, in the order the fields appear on the form.
    pub fields: Vec<(&'static str, String)>,
}

impl FormErrors {
    /// No errors (the first render of a form).
    pub fn none() -> Self {
        Self::default()
    }

    /// The message for one field, if it has one.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| m.as_str())
    }

    /// Adds a message for a field (builder style, for handlers collecting errors).
    pub fn with_field(mut self, name: &'static str, message: impl Into<String>) -> Self {
        self.fields.push((name, message.into()));
        self
    }

    /// Sets the overall message (builder style).
    pub fn with_summary(mut self, message: impl Into<String>) -> Self {
        self.summary = Some(message.into());
        self
    }

    /// True when there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.summary.is_none() && self.fields.is_empty()
    }
}

/// The `id` of a field's control: `f-<name>`. The error summary links to it.
pub fn field_id(name: &str) -> String {
    format!("f-{name}")
}

/// The hidden CSRF input every POST form carries.
pub fn csrf_input(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A POST form with its CSRF input; `body` holds the fields and buttons.
pub fn post_form(action: &str, csrf: &str, body: Markup) -> Markup {
    html! {
        form class="form" method="post" action=(action) {
            (csrf_input(csrf))
            (body)
        }
    }
}

/// The summary of a form's errors, for the top of the form: the overall message and one
/// link per field error that jumps to the field. Renders nothing when there are no errors.
pub fn error_summary(errors: &FormErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" tabindex="-1" data-error-summary
                aria-labelledby="error-summary-title" {
                h2 id="error-summary-title" { "There is a problem" }
                @if let Some(summary) = &errors.summary {
                    p { (summary) }
                }
                @if !errors.fields.is_empty() {
                    ul {
                        @for (name, message) in &errors.fields {
                            li { a href={ "#" (field_id(name)) } { (message) } }
                        }
                    }
                }
            }
        }
    }
}

/// One labelled form control, built step by step and rendered with [`Field::render`]:
/// label above, then the control, the field's error (if any), then help text.
#[derive(Clone, Debug)]
pub struct Field<'a> {
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    value: &'a str,
    help: Option<&'a str>,
    autocomplete: Option<&'a str>,
    placeholder: Option<&'a str>,
    required: bool,
    autofocus: bool,
    readonly: bool,
    minlength: Option<u32>,
    maxlength: Option<u32>,
}

impl<'a> Field<'a> {
    /// A field of any `<input type>` (`"textarea"` renders a `<textarea>`).
    pub fn new(kind: &'a str, name: &'a str, label: &'a str) -> Self {
        Self {
            name,
            label,
            kind,
            value: "",
            help: None,
            autocomplete: None,
            placeholder: None,
            required: false,
            autofocus: false,
            readonly: false,
            minlength: None,
            maxlength: None,
        }
    }
    /// A one-line text field.
    pub fn text(name: &'a str, label: &'a str) -> Self {
        Self::new("text", name, label)
    }
    /// An e-mail field.
    pub fn email(name: &'a str, label: &'a str) -> Self {
        Self::new("email", name, label)
    }
    /// A password field (its value is never pre-filled: see [`Field::value`]).
    pub fn password(name: &'a str, label: &'a str) -> Self {
        Self::new("password", name, label)
    }
    /// A multi-line text field.
    pub fn textarea(name: &'a str, label: &'a str) -> Self {
        Self::new("textarea", name, label)
    }
    /// The value typed so far (kept after an error). Ignored for passwords, which are never
    /// sent back to the browser.
    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }
    /// Help text shown under the field.
    pub fn help(mut self, help: &'a str) -> Self {
        self.help = Some(help);
        self
    }
    /// The `autocomplete` token, e.g. `"username"`, `"current-password"`, `"new-password"`.
    pub fn autocomplete(mut self, token: &'a str) -> Self {
        self.autocomplete = Some(token);
        self
    }
    /// An example value shown while empty (never a substitute for the label).
    pub fn placeholder(mut self, text: &'a str) -> Self {
        self.placeholder = Some(text);
        self
    }
    /// Marks the field required (the server checks again).
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Puts the cursor here when the page loads.
    pub fn autofocus(mut self, on: bool) -> Self {
        self.autofocus = on;
        self
    }
    /// Shows the value without allowing edits.
    pub fn readonly(mut self) -> Self {
        self.readonly = true;
        self
    }
    /// Length limits the browser enforces before submitting (the server checks again).
    pub fn length(mut self, min: Option<u32>, max: Option<u32>) -> Self {
        self.minlength = min;
        self.maxlength = max;
        self
    }

    /// The field with its label, control, error from `errors` and help text.
    pub fn render(&self, errors: &FormErrors) -> Markup {
        let id = field_id(self.name);
        let error = errors.field(self.name);
        let error_id = format!("{id}-error");
        let help_id = format!("{id}-help");
        let described: Vec<&str> = error
            .map(|_| error_id.as_str())
            .into_iter()
            .chain(self.help.map(|_| help_id.as_str()))
            .collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        let value = if self.kind == "password" {
            ""
        } else {
            self.value
        };
        let invalid = error.is_some().then_some("true");
        html! {
            div class=(if error.is_some() { "field field-invalid" } else { "field" }) {
                label for=(id) {
                    (self.label)
                    @if !self.required { span class="field-optional" { " (optional)" } }
                }
                @if self.kind == "textarea" {
                    textarea id=(id) name=(self.name) rows="5"
                        autocomplete=[self.autocomplete] placeholder=[self.placeholder]
                        required[self.required] autofocus[self.autofocus] readonly[self.readonly]
                        minlength=[self.minlength] maxlength=[self.maxlength]
                        aria-invalid=[invalid] aria-describedby=[described.as_deref()] { (value) }
                } @else {
                    input id=(id) name=(self.name) type=(self.kind) value=(value)
                        autocomplete=[self.autocomplete] placeholder=[self.placeholder]
                        required[self.required] autofocus[self.autofocus] readonly[self.readonly]
                        minlength=[self.minlength] maxlength=[self.maxlength]
                        aria-invalid=[invalid] aria-describedby=[described.as_deref()];
                }
                @if let Some(message) = error {
                    p class="field-error" id=(error_id) { (message) }
                }
                @if let Some(help) = self.help {
                    p class="field-help" id=(help_id) { (help) }
                }
            }
        }
    }
}

/// A labelled `<select>` with `(value, label)` options; `selected` is the chosen value.
pub fn select(
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    selected: &str,
    help: Option<&str>,
    errors: &FormErrors,
) -> Markup {
    let id = field_id(name);
    let error = errors.field(name);
    html! {
        div class=(if error.is_some() { "field field-invalid" } else { "field" }) {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-invalid=[error.is_some().then_some("true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))] {
                @for (value, text) in options {
                    option value=(value) selected[*value == selected] { (text) }
                }
            }
            @if let Some(message) = error {
                p class="field-error" id={ (id) "-error" } { (message) }
            }
            @if let Some(help) = help {
                p class="field-help" { (help) }
            }
        }
    }
}

/// A checkbox with its label beside it and optional help under it.
pub fn checkbox(name: &str, label: &str, checked: bool, help: Option<&str>) -> Markup {
    let id = field_id(name);
    html! {
        div class="field field-check" {
            input id=(id) type="checkbox" name=(name) value="on" checked[checked];
            label for=(id) { (label) }
            @if let Some(help) = help {
                p class="field-help" { (help) }
            }
        }
    }
}

/// A group of checkboxes sharing one `name` (one value per checked box): members of a group,
/// pools of a grant. A `<fieldset>` with its legend, the field's error and help; long lists
/// scroll inside their box. `options` are `(value, label)`; `selected` holds checked values.
pub fn checkbox_group(
    name: &str,
    legend: &str,
    options: &[(String, String)],
    selected: &std::collections::BTreeSet<String>,
    help: Option<&str>,
    errors: &FormErrors,
) -> Markup {
    let id = field_id(name);
    let error = errors.field(name);
    html! {
        fieldset id=(id) class=(if error.is_some() { "field choices field-invalid" } else { "field choices" })
            aria-describedby=[error.map(|_| format!("{id}-error"))] {
            legend { (legend) }
            @if let Some(message) = error {
                p class="field-error" id={ (id) "-error" } { (message) }
            }
            @if options.is_empty() {
                p class="muted" { "Nothing to choose from yet." }
            } @else {
                div class="choices-list" {
                    @for (i, (value, label)) in options.iter().enumerate() {
                        @let box_id = format!("{id}-{i}");
                        div class="field-check" {
                            input id=(box_id) type="checkbox" name=(name) value=(value)
                                checked[selected.contains(value)];
                            label for=(box_id) { (label) }
                        }
                    }
                }
            }
            @if let Some(help) = help {
                p class="field-help" { (help) }
            }
        }
    }
}

/// How a button looks: the page's main action, an ordinary one, or one that destroys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ButtonKind {
    /// The one main action of a page or form.
    Primary,
    /// Any other action.
    Secondary,
    /// Deletes, revokes or disconnects something.
    Danger,
}

impl ButtonKind {
    /// The CSS classes of this kind of button.
    pub fn class(self) -> &'static str {
        match self {
            ButtonKind::Primary => "button button-primary",
            ButtonKind::Secondary => "button",
            ButtonKind::Danger => "button button-danger",
        }
    }
}

/// A submit button.
pub fn submit(kind: ButtonKind, label: &str) -> Markup {
    html! { button type="submit" class=(kind.class()) { (label) } }
}

/// A link styled as a button (for the primary action of a page that navigates).
pub fn link_button(kind: ButtonKind, href: &str, label: &str) -> Markup {
    html! { a class=(kind.class()) href=(href) { (label) } }
}

/// A link styled as a button that fetches a file: `download` tells the browser to save what
/// it gets instead of leaving the page for it.
pub fn download_button(kind: ButtonKind, href: &str, label: &str) -> Markup {
    html! { a class=(kind.class()) href=(href) download { (label) } }
}

/// A destructive action that asks first, with or without JavaScript: a disclosure button
/// opens a panel that says what will happen, and only the button inside it submits. With
/// JavaScript the form's `data-confirm` adds a browser dialog on top.
pub fn confirm_action(
    label: &str,
    consequence: &str,
    action: &str,
    csrf: &str,
    confirm_label: &str,
) -> Markup {
    confirm_action_with(label, consequence, action, csrf, confirm_label, &[])
}

/// [`confirm_action`] whose form also carries hidden `(name, value)` fields (what to act
/// on, when the address cannot say it).
pub fn confirm_action_with(
    label: &str,
    consequence: &str,
    action: &str,
    csrf: &str,
    confirm_label: &str,
    hidden: &[(&str, &str)],
) -> Markup {
    html! {
        details class="confirm" {
            summary class="button button-danger" { (label) }
            div class="confirm-panel" role="group" aria-label=(label) {
                p { (consequence) }
                form method="post" action=(action) data-confirm=(consequence) {
                    (csrf_input(csrf))
                    @for (name, value) in hidden {
                        input type="hidden" name=(name) value=(value);
                    }
                    (submit(ButtonKind::Danger, confirm_label))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Notices, badges, empty states
// ---------------------------------------------------------------------------------------------

/// The tone of a notice box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Neutral information.
    Info,
    /// Something succeeded.
    Ok,
    /// Needs attention but nothing failed.
    Warning,
    /// Something failed.
    Error,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Info => "notice notice-info",
            Tone::Ok => "notice notice-ok",
            Tone::Warning => "notice notice-warning",
            Tone::Error => "notice notice-error",
        }
    }
    /// Errors interrupt a screen reader; everything else waits its turn.
    fn role(self) -> &'static str {
        match self {
            Tone::Error => "alert",
            Tone::Info | Tone::Ok | Tone::Warning => "status",
        }
    }
}

/// A flash/notice box with a plain message.
pub fn notice(tone: Tone, message: &str) -> Markup {
    html! { div class=(tone.class()) role=(tone.role()) { p { (message) } } }
}

/// A notice box with a bold title and richer content.
pub fn notice_with(tone: Tone, title: &str, body: Markup) -> Markup {
    html! {
        div class=(tone.class()) role=(tone.role()) {
            p class="notice-title" { strong { (title) } }
            (body)
        }
    }
}

/// A health or state, coloured consistently across the portal (`UI.md`: ok, warning, error,
/// unknown). Badges also carry a symbol, so colour is never the only signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Healthy, connected, installed, done.
    Ok,
    /// Degraded, near a limit, pending.
    Warning,
    /// Failed, disconnected, expired with an error.
    Error,
    /// Not known (yet).
    Unknown,
}

impl Status {
    fn class(self) -> &'static str {
        match self {
            Status::Ok => "badge badge-ok",
            Status::Warning => "badge badge-warning",
            Status::Error => "badge badge-error",
            Status::Unknown => "badge badge-unknown",
        }
    }
}

/// A status badge: `text` in the status colour.
pub fn badge(status: Status, text: &str) -> Markup {
    html! { span class=(status.class()) { (text) } }
}

/// A neutral label badge (tags, roles, scopes).
pub fn tag(text: &str) -> Markup {
    html! { span class="badge" { (text) } }
}

/// What an empty list would show and how to fill it, instead of a bare empty table.
pub fn empty_state(title: &str, message: &str, action: Option<Markup>) -> Markup {
    html! {
        div class="empty-state" {
            p class="empty-state-title" { (title) }
            p { (message) }
            @if let Some(action) = action {
                div class="empty-state-action" { (action) }
            }
        }
    }
}

/// What the name-pattern field of a filter bar says: label, placeholder and the help read
/// out by screen readers.
#[derive(Clone, Copy, Debug)]
pub struct PatternField<'a> {
    /// The label.
    pub label: &'a str,
    /// An example pattern.
    pub placeholder: &'a str,
    /// What the pattern matches.
    pub help: &'a str,
}

/// The name-pattern, pool and tag fields the filter bars of the live lists share (fields
/// `name`, `pool`, `tag`); `pools` are `(id, label)` with the "all" choice first.
pub fn name_pool_tag_fields(
    name: PatternField<'_>,
    values: (&str, &str, &str),
    pools: &[(&str, &str)],
) -> Markup {
    let (name_value, pool, tag_value) = values;
    html! {
        div class="field" {
            label for="f-name" { (name.label) }
            input id="f-name" type="search" name="name" value=(name_value) placeholder=(name.placeholder)
                aria-describedby="f-name-help";
            span id="f-name-help" class="sr-only" { (name.help) }
        }
        (select("pool", "Pool", pools, pool, None, &FormErrors::none()))
        div class="field" {
            label for="f-tag" { "Tag" }
            input id="f-tag" type="text" name="tag" value=(tag_value) placeholder="production";
        }
    }
}

/// A live list region: the "Live" indicator and Pause button (revealed by `lantern.js`) and
/// the region it replaces with what the event stream at `stream` (with its query) pushes.
pub fn live_list(stream: &str, region: Markup) -> Markup {
    html! {
        div class="live-controls" {
            span class="live-indicator" data-live-indicator hidden { "Live" }
            button type="button" class="button button-small" data-live-toggle hidden { "Pause" }
        }
        div data-live=(stream) aria-live="off" {
            (region)
        }
    }
}

/// A titled box grouping related content on a page.
pub fn card(title: &str, body: Markup) -> Markup {
    html! {
        section class="card" {
            h2 class="card-title" { (title) }
            (body)
        }
    }
}

/// A definition list of `(term, value)` pairs (the facts about one object).
pub fn facts(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl class="facts" {
            @for (term, value) in rows {
                div class="facts-row" {
                    dt { (term) }
                    dd { (value) }
                }
            }
        }
    }
}

/// A data table: a caption for screen readers, column headers with `scope="col"`, and the
/// caller's rows (whose first cell should be a `th scope="row"`). Scrolls sideways on
/// narrow screens instead of squeezing.
pub fn table(caption: &str, columns: &[&str], rows: Markup) -> Markup {
    html! {
        div class="table-wrap" {
            table class="table" {
                caption class="sr-only" { (caption) }
                thead { tr { @for c in columns { th scope="col" { (c) } } } }
                tbody { (rows) }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------------------------

/// Percent-encodes `value` for a path segment or a query value: everything but letters,
/// digits, `- _ . ~` and `*` (kept so that name patterns stay readable in the address; so an agent id with `/` stays one segment and a tag with `:` or `/`
/// survives a query string).
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' => {
                out.push(char::from(b));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A query string (`?a=1&b=x`) of the pairs whose value is not empty; "" when none is.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

// ---------------------------------------------------------------------------------------------
// Copyable values and secrets
// ---------------------------------------------------------------------------------------------

/// The copy button for `value`. Hidden until `lantern.js` reveals it, because without the
/// script it could not work (the value stays selectable by hand).
pub fn copy_button(value: &str, what: &str) -> Markup {
    html! {
        button type="button" class="button button-small copy-button" data-copy=(value)
            aria-label={ "Copy: " (what) } hidden { "Copy" }
    }
}

/// A short value on one line (a URL, a pin, an id) with a copy button.
pub fn copyable(value: &str, what: &str) -> Markup {
    html! {
        span class="copyable" {
            code class="copyable-value" { (value) }
            (copy_button(value, what))
        }
    }
}

/// A block of code or a command under a small bar naming it (`what`, e.g. "Java command")
/// that holds the copy button, so the button never covers the code. Long lines wrap; the
/// copy is always the exact text.
pub fn code_block(text: &str, what: &str) -> Markup {
    html! {
        div class="code-block" {
            div class="code-block-bar" {
                span class="code-block-label" { (what) }
                (copy_button(text, what))
            }
            pre { code { (text) } }
        }
    }
}

/// A secret shown exactly once (API key, pool key, SCIM token): the value, a copy button and
/// a plain warning that it will not be shown again.
pub fn secret_once(label: &str, secret: &str) -> Markup {
    html! {
        div class="secret-once" role="status" {
            p class="secret-once-label" { strong { (label) } }
            (copyable(secret, label))
            p class="secret-once-warning" {
                "Copy it now and keep it somewhere safe: you will not see this again."
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Human units: times, sizes, durations, counts
// ---------------------------------------------------------------------------------------------

/// `(year, month, day, hour, minute, second)` in UTC of a unix time, by Howard Hinnant's
/// civil-from-days algorithm (exact for the proleptic Gregorian calendar, no table, no panic).
fn civil(ts: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3_600, secs % 3_600 / 60, secs % 60)
}

/// A unix time (seconds) as one of the texts below, written straight into the page: a list
/// of fifty agents shows over a hundred of them, and making a `String` for each was a
/// measurable part of the page. What it writes is digits, letters, `-`, `:` and spaces, so
/// there is nothing to escape.
#[derive(Debug, Clone, Copy)]
enum Stamp {
    /// [`iso_utc`].
    Iso(i64),
    /// [`human_utc`].
    Human(i64),
    /// [`relative`]: `(ts, now)`.
    Relative(i64, i64),
}

impl Stamp {
    fn write(self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        match self {
            Stamp::Iso(ts) => write_civil(out, ts, "T", "Z"),
            Stamp::Human(ts) => write_civil(out, ts, " ", " UTC"),
            Stamp::Relative(ts, now) => write_relative(out, ts, now),
        }
    }
}

impl maud::Render for Stamp {
    fn render_to(&self, buffer: &mut String) {
        // Writing to a String cannot fail.
        let _ = self.write(buffer);
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write(f)
    }
}

/// RFC 3339 UTC, e.g. `2026-11-27T20:47:05Z` (for `datetime` attributes and exports).
pub fn iso_utc(ts: i64) -> String {
    Stamp::Iso(ts).to_string()
}

/// Readable UTC, e.g. `2026-11-27 20:47:05 UTC` (tooltips and detail pages).
pub fn human_utc(ts: i64) -> String {
    Stamp::Human(ts).to_string()
}

/// How long ago (or how far ahead) `ts` is from `now`, both unix seconds: "just now",
/// "42 s ago", "3 min ago", "5 h ago", "2 days ago", "in 10 min"; beyond 30 days the date.
/// `lantern.js` recomputes the same text with the same thresholds while the page is open.
pub fn relative(ts: i64, now: i64) -> String {
    Stamp::Relative(ts, now).to_string()
}

/// `YYYY-MM-DD`, `between`, `hh:mm:ss`, `after`.
fn write_civil(
    out: &mut impl std::fmt::Write,
    ts: i64,
    between: &str,
    after: &str,
) -> std::fmt::Result {
    let (y, mo, d, h, mi, s) = civil(ts);
    write_date(out, y, mo, d)?;
    out.write_str(between)?;
    write_padded(out, h, 2)?;
    out.write_char(':')?;
    write_padded(out, mi, 2)?;
    out.write_char(':')?;
    write_padded(out, s, 2)?;
    out.write_str(after)
}

fn write_date(out: &mut impl std::fmt::Write, y: i64, mo: i64, d: i64) -> std::fmt::Result {
    write_padded(out, y, 4)?;
    out.write_char('-')?;
    write_padded(out, mo, 2)?;
    out.write_char('-')?;
    write_padded(out, d, 2)
}

/// `n` in decimal with at least `width` digits, as `{n:0width$}` writes it (a minus sign, if
/// any, counted in the width). By hand, because `core::fmt`'s padding was most of the cost of a
/// timestamp, and a page has a hundred.
fn write_padded(out: &mut impl std::fmt::Write, n: i64, width: usize) -> std::fmt::Result {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        // The remainder is below ten.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (rest % 10) as u8;
        if let Some(slot) = digits.get_mut(at) {
            *slot = b'0' + digit;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    let len = digits.len() - at;
    let sign = usize::from(n < 0);
    if n < 0 {
        out.write_char('-')?;
    }
    for _ in (len + sign)..width {
        out.write_char('0')?;
    }
    for &digit in digits.get(at..).unwrap_or_default() {
        out.write_char(char::from(digit))?;
    }
    Ok(())
}

fn write_relative(out: &mut impl std::fmt::Write, ts: i64, now: i64) -> std::fmt::Result {
    let diff = now.saturating_sub(ts);
    let n = diff.unsigned_abs();
    if n < 10 {
        return out.write_str("just now");
    }
    if n >= 30 * 86_400 {
        let (y, mo, d, ..) = civil(ts);
        return write_date(out, y, mo, d);
    }
    if diff < 0 {
        out.write_str("in ")?;
    }
    if n < 60 {
        write!(out, "{n} s")?;
    } else if n < 3_600 {
        write!(out, "{} min", n / 60)?;
    } else if n < 86_400 {
        write!(out, "{} h", n / 3_600)?;
    } else {
        let days = n / 86_400;
        write!(out, "{days} {}", if days == 1 { "day" } else { "days" })?;
    }
    if diff >= 0 {
        out.write_str(" ago")?;
    }
    Ok(())
}

/// A `<time>` element with relative text, the machine-readable instant in `datetime` and the
/// absolute UTC time on hover. `data-rel` carries the server's `now` so that `lantern.js`,
/// which keeps the text current, measures from the server's clock, not the browser's.
pub fn rel_time(ts: i64, now: i64) -> Markup {
    html! {
        time datetime=(Stamp::Iso(ts)) title=(Stamp::Human(ts)) data-rel=(now) { (Stamp::Relative(ts, now)) }
    }
}

/// A byte count in binary units: "512 B", "1.5 KiB", "34 KiB", "19 MiB", "2.1 GiB".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Precision loss in the float only affects digits we do not print.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = "KiB";
    for next in UNITS.iter().skip(1) {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    one_decimal_below_ten(value, unit)
}

/// "1.5 KiB" but "34 KiB": a decimal only where it carries information.
fn one_decimal_below_ten(value: f64, unit: &str) -> String {
    let text = if value < 9.95 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    };
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {unit}")
}

/// A duration in its two largest units: "0 s", "45 s", "3 min 20 s", "2 h 5 min",
/// "3 days 4 h".
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let parts: [(u64, &str); 4] = [
        (d, if d == 1 { "day" } else { "days" }),
        (h, "h"),
        (m, "min"),
        (s, "s"),
    ];
    let first = parts.iter().position(|(v, _)| *v > 0);
    match first {
        None => "0 s".to_owned(),
        Some(i) => parts
            .iter()
            .skip(i)
            .take(2)
            .filter(|(v, _)| *v > 0)
            .map(|(v, u)| format!("{v} {u}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A short duration given in milliseconds: "850 ms", "1.2 s", "42 s", then as
/// [`human_duration`].
pub fn human_millis(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        // Milliseconds below a minute fit a float exactly.
        #[allow(clippy::cast_precision_loss)]
        let secs = ms as f64 / 1000.0;
        one_decimal_below_ten(secs, "s")
    } else {
        human_duration(ms / 1_000)
    }
}

/// A count with thousands separators: "12,345".
pub fn human_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    use crate::ui::test_support::assert_csp_clean;

    fn errors() -> FormErrors {
        FormErrors::none()
            .with_summary("The account was not created.")
            .with_field("email", "Enter an e-mail address like name@example.com.")
    }

    #[test]
    fn errors_render_next_to_the_field_and_in_the_summary() {
        let errs = errors();
        let field = Field::email("email", "E-mail")
            .value("not-an-email")
            .required()
            .render(&errs)
            .into_string();
        assert!(field.contains("aria-invalid=\"true\""));
        assert!(field.contains("aria-describedby=\"f-email-error\""));
        assert!(field.contains("<p class=\"field-error\" id=\"f-email-error\">Enter an e-mail address like name@example.com.</p>"));
        assert!(
            field.contains("value=\"not-an-email\""),
            "keeps what was typed"
        );
        let summary = error_summary(&errs).into_string();
        assert!(summary.contains("role=\"alert\""));
        assert!(summary.contains("The account was not created."));
        assert!(
            summary.contains(
                "<a href=\"#f-email\">Enter an e-mail address like name@example.com.</a>"
            )
        );
        let other = Field::text("name", "Name")
            .help("Shown in the header.")
            .render(&errs)
            .into_string();
        assert!(!other.contains("field-error") && !other.contains("aria-invalid"));
        assert!(other.contains("aria-describedby=\"f-name-help\""));
        assert!(other.contains("(optional)"));
        assert_eq!(error_summary(&FormErrors::none()).into_string(), "");
    }

    #[test]
    fn passwords_are_never_echoed_and_values_are_escaped() {
        let html = Field::password("password", "Password")
            .value("hunter2")
            .render(&FormErrors::none())
            .into_string();
        assert!(!html.contains("hunter2"));
        let html = Field::text("name", "Name")
            .value("\"><script>x</script>")
            .render(&FormErrors::none())
            .into_string();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&quot;&gt;&lt;script&gt;"));
        let html = Field::textarea("t", "T")
            .value("</textarea><b>")
            .render(&FormErrors::none())
            .into_string();
        assert!(html.contains("&lt;/textarea&gt;&lt;b&gt;"));
    }

    #[test]
    fn components_are_csp_clean() {
        let all = html! {
            (notice(Tone::Ok, "Saved."))
            (notice_with(Tone::Warning, "Careful", html! { p { "x" } }))
            (badge(Status::Error, "down"))
            (empty_state("No agents yet", "See Getting Started.", Some(link_button(ButtonKind::Primary, "/getting-started", "Getting Started"))))
            (secret_once("API key", "lk_abc\"<>"))
            (code_block("java -jar x.jar\nsecond line", "command"))
            (confirm_action("Delete pool", "All agents of the pool are disconnected.", "/p/1/delete", "tok", "Delete the pool"))
            (select("role", "Role", &[("a", "A"), ("b", "B")], "b", Some("h"), &errors()))
            (checkbox("on", "On", true, None))
            (rel_time(0, 100))
            (table("Agents", &["Name", "Host"], html! { tr { th scope="row" { "a" } td { "b" } } }))
        }
        .into_string();
        assert_csp_clean(&all);
        assert!(all.contains("data-copy=\"lk_abc&quot;&lt;&gt;\""));
        assert!(all.contains("you will not see this again"));
        assert!(all.contains("<option value=\"b\" selected>B</option>"));
        assert!(all.contains("data-confirm=\"All agents of the pool are disconnected.\""));
    }

    #[test]
    fn links_are_encoded() {
        assert_eq!(url_encode("team/payments:prod"), "team%2Fpayments%3Aprod");
        assert_eq!(url_encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(url_encode("zoë"), "zo%C3%AB");
        assert_eq!(query_string(&[("a", ""), ("b", "")]), "");
        assert_eq!(
            query_string(&[("tag", "x/y"), ("pool", ""), ("name", "o*")]),
            "?tag=x%2Fy&name=o*"
        );
    }

    #[test]
    fn utc_formatting_matches_known_instants() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_796_000_000), "2026-11-30T00:53:20Z");
        assert_eq!(human_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
        // Extremes must not panic.
        let _ = iso_utc(i64::MAX);
        let _ = iso_utc(i64::MIN);
        let _ = relative(i64::MIN, i64::MAX);
    }

    #[test]
    fn padded_numbers_read_as_format_writes_them() {
        for n in [
            0,
            7,
            42,
            999,
            1_970,
            12_345,
            -1,
            -42,
            -12_345,
            i64::MAX,
            i64::MIN,
        ] {
            for width in [0, 2, 4] {
                let mut s = String::new();
                write_padded(&mut s, n, width).unwrap();
                assert_eq!(s, format!("{n:0width$}"), "{n} {width}");
            }
        }
    }

    #[test]
    fn relative_times() {
        let now = 1_800_000_000;
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - 42, now), "42 s ago");
        assert_eq!(relative(now - 180, now), "3 min ago");
        assert_eq!(relative(now - 5 * 3600 - 10, now), "5 h ago");
        assert_eq!(relative(now - 86_400, now), "1 day ago");
        assert_eq!(relative(now - 2 * 86_400, now), "2 days ago");
        assert_eq!(relative(now + 600, now), "in 10 min");
        assert_eq!(relative(now + 90_000, now), "in 1 day");
        assert_eq!(relative(now - 9, now), "just now");
        assert_eq!(relative(now - 10, now), "10 s ago");
        assert_eq!(relative(now - 86_399, now), "23 h ago");
        assert_eq!(relative(now - 2_591_999, now), "29 days ago");
        assert_eq!(relative(now - 2_592_000, now), "2026-12-16");
        assert_eq!(relative(0, now), "1970-01-01");
        let t = rel_time(now - 180, now).into_string();
        assert_eq!(
            t,
            "<time datetime=\"2027-01-15T07:57:00Z\" title=\"2027-01-15 07:57:00 UTC\" data-rel=\"1800000000\">3 min ago</time>"
        );
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1024), "1 KiB");
        assert_eq!(human_bytes(34 * 1024), "34 KiB");
        assert_eq!(human_bytes(19 * 1024 * 1024), "19 MiB");
        assert_eq!(human_bytes(u64::MAX), "16 EiB");
        assert_eq!(human_duration(0), "0 s");
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(200), "3 min 20 s");
        assert_eq!(human_duration(7_500), "2 h 5 min");
        assert_eq!(human_duration(7_200), "2 h");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3_600 + 59), "3 days 4 h");
        assert_eq!(human_duration(86_400 + 60), "1 day");
        assert_eq!(human_millis(850), "850 ms");
        assert_eq!(human_millis(1_200), "1.2 s");
        assert_eq!(human_millis(42_000), "42 s");
        assert_eq!(human_millis(3_600_000), "1 h");
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(12_345), "12,345");
        assert_eq!(human_count(1_234_567), "1,234,567");
    }
}
