//! OWASP CRS v4 SecLang engine and the shared HTTP request model.
//!
//! - [`request`]: the request model shared by the SecLang engine, `wafio scan`
//!   and the proxy: a raw HTTP/1.x parser and the query, urlencoded,
//!   multipart, JSON and XML body processors that fill the collections.
//! - [`ast`]: the SecLang lexer and parser (directives with spans, errors
//!   with a caret under the fault); [`ir`]: typed rules after lowering.
//! - [`engine`]: the compiled engine and per-request transactions.
//! - [`ftw`]: the go-ftw regression-test harness (loader, request builder,
//!   checks); the engine plugs in through [`ftw::StageRunner`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ast;
pub mod engine;
pub mod ftw;
pub mod ir;
pub mod request;
