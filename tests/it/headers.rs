//! Security headers on every kind of answer; immutable, content-hashed assets.

use crate::support::*;

fn assert_security_headers(r: &Resp, what: &str) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(
        r.header("strict-transport-security")
            .unwrap_or_default()
            .contains("max-age="),
        "{what}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(
        r.header("cross-origin-opener-policy"),
        Some("same-origin"),
        "{what}"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let mut t = TestApp::start().await;
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = c.get("/getting-started").await;
    assert_security_headers(&page, "page");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_security_headers(&c.get("/healthz").await, "healthz");
    assert_security_headers(&c.get("/no-such-page").await, "404");
    assert_security_headers(&c.get("/api/v1/nothing").await, "api 404");
    assert_security_headers(&t.client().get("/sign-in").await, "sign-in");

    // The page's stylesheet is embedded, content-hashed and immutable.
    let href_at = page.body.find("/assets/").unwrap();
    let href = &page.body[href_at..];
    let href = &href[..href.find('"').unwrap()];
    let asset = c.get(href).await;
    assert_eq!(asset.status, 200, "{href}");
    assert!(asset.header("cache-control").unwrap().contains("immutable"));
    assert_security_headers(&asset, "asset");
    let wrong = href.replacen("/assets/", "/assets/0", 1);
    assert_eq!(c.get(&wrong).await.status, 404);

    // No inline script or style anywhere in the page (CSP would block it anyway).
    assert!(!page.body.contains("<script>"));
    assert!(!page.body.contains(" style="));
    t.stop().await;
}

#[tokio::test]
async fn api_errors_are_json_and_pages_are_html() {
    let mut t = TestApp::start().await;
    let c = t.client();
    let api = c.get("/api/v1/nothing").await;
    assert_eq!(api.status, 404);
    assert_eq!(api.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    assert!(v["error"]["message"].as_str().unwrap().len() > 5);
    let page = c.get("/no-such-page").await;
    assert_eq!(page.status, 404);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let method = c.get("/sign-out").await;
    assert_eq!(method.status, 405);
    t.stop().await;
}
