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

/// A query parameter sent exactly once; a repeated one is ambiguous (RFC 6749 §3.1 forbids it)
/// and is read as absent.
pub(crate) fn query_param(req: &lambda_http::Request, name: &str) -> Option<String> {
    use lambda_http::RequestExt as _;
    let params = req.query_string_parameters_ref()?;
    let mut values = params.all(name)?.into_iter();
    let first = values.next()?;
    if values.next().is_some() { None } else { Some(first.to_owned()) }
}

/// A whole page: `title` is plain text, `body` is HTML built from escaped parts.
pub(crate) fn render(status: StatusCode, title: &str, body: &str) -> Response<Body> {
    render_with(status, title, body, None)
}

/// A page whose forms may end at `redirect_target` too: browsers apply `form-action` to the
/// redirect a form post is answered with, so the sign-in and consent forms, answered with a
/// 303 to the app's (registered, checked) redirect URI, must name its origin.
pub(crate) fn render_redirecting(status: StatusCode, title: &str, body: &str, redirect_uri: &str) -> Response<Body> {
    render_with(status, title, body, form_target(redirect_uri))
}

/// The CSP source of a redirect URI: `scheme://host[:port]`, or `scheme:` for a private-use
/// scheme; `None` if it has any character a header or a policy could be confused by.
fn form_target(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let source = match rest.strip_prefix("//") {
        Some(after) => {
            let authority = after.split(['/', '?', '#']).next()?;
            format!("{scheme}://{authority}")
        }
        None => format!("{scheme}:"),
    };
    let clean = source.bytes().all(|b| b.is_ascii_alphanumeric() || b".-+:/[]".contains(&b));
    clean.then_some(source)
}

fn render_with(status: StatusCode, title: &str, body: &str, extra_form_target: Option<String>) -> Response<Body> {
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
    let csp = match extra_form_target {
        Some(target) => {
            HeaderValue::from_str(&CSP.replace("form-action 'self'", &format!("form-action 'self' {target}")))
                .unwrap_or(HeaderValue::from_static(CSP))
        }
        None => HeaderValue::from_static(CSP),
    };
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
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
    fn a_form_may_end_at_the_origin_of_its_redirect_uri_and_nowhere_else() {
        for (uri, source) in [
            ("https://app.example/cb?x=1", Some("https://app.example")),
            ("http://127.0.0.1:51234/callback", Some("http://127.0.0.1:51234")),
            ("http://[::1]:8080/cb", Some("http://[::1]:8080")),
            ("com.example.tv:/oauth", Some("com.example.tv:")),
            ("https://app.example;script-src *", None),
        ] {
            assert_eq!(super::form_target(uri).as_deref(), source, "{uri}");
        }
    }

    #[test]
    fn markup_in_outside_text_is_escaped() {
        assert_eq!(
            super::escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
