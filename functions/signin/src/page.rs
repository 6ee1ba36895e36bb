//! The pages: plain, accessible HTML with one small stylesheet, no script. Every value that
//! comes from outside (a typed code, a client's name, a username) passes through [`escape`].

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};

/// No script at all, styles and images only from us, forms only to us, never framed.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'";

pub(crate) const STYLESHEET: &str = include_str!("signin.css");

/// Text made safe for HTML element content and double-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` is plain text, `body` is HTML built from escaped parts.
pub(crate) fn render(status: StatusCode, title: &str, body: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} · Oasis</title>\n<link rel=\"stylesheet\" href=\"assets/signin.css\">\n</head>\n\
<body>\n<main>\n<p class=\"brand\">Oasis</p>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut resp = Response::new(Body::Text(html));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    // With `no-referrer`, browsers send `Origin: null` on the page's own form posts, and the
    // origin check could not tell them from a sandboxed attacker's; nothing leaves the site.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    resp
}

/// An alert for a page: a person's mistake, said plainly.
pub(crate) fn alert(message: &str) -> String {
    format!("<p class=\"alert\" role=\"alert\">{}</p>", escape(message))
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_in_outside_text_is_escaped() {
        assert_eq!(
            super::escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
