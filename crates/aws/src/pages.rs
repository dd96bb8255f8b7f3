//! The sandbox's HTML pages: small, accessible, no JavaScript needed.

use idfed_saml::bindings::html_escape;

/// A page with AWS-like chrome; `body` is already-escaped HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;margin:0;background:#f2f3f3;color:#16191f}}\
header{{background:#232f3e;color:#fff;padding:.7rem 1.2rem;font-weight:600}}main{{max-width:46rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 3px #0002}}\
h1{{font-size:1.4rem}}.error{{border-left:4px solid #d13212;padding:.5rem 1rem;background:#fdf3f1}}fieldset{{border:0;padding:0}}\
.saml-account{{margin:1rem 0}}.saml-account-name{{font-weight:600;margin-bottom:.4rem}}.saml-role{{margin:.3rem 0}}\
button{{background:#ff9900;border:1px solid #e88b01;padding:.5rem 1.2rem;border-radius:2px;font-weight:600;cursor:pointer}}dt{{font-weight:600}}</style></head>\
<body><header>idfed AWS sandbox</header><main>{body}</main></body></html>\n",
        title = html_escape(title)
    )
}

/// An error page showing `message` as AWS shows it.
pub fn error_page(title: &str, message: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\" id=\"error-message\">{}</p>",
            html_escape(title),
            html_escape(message)
        ),
    )
}
