//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong; each variant names the thing involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A prefix or address that does not parse.
    #[error("invalid CIDR `{input}`: {reason}")]
    InvalidCidr {
        /// The text given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A TTL that does not parse.
    #[error("invalid TTL `{input}`: {reason}")]
    InvalidTtl {
        /// The text given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A rule file that does not parse or validate.
    #[error("rule file {path}: {message}")]
    RuleFile {
        /// The file (or the origin given by the caller).
        path: String,
        /// Parser message with line and column when known.
        message: String,
    },
    /// A rule set that cannot be compiled (too many rules, bad values...).
    #[error("rule set: {0}")]
    Compile(String),
    /// An ASN/country database line that does not parse.
    #[error("ASN database {path}:{line}: {message}")]
    AsnDb {
        /// Database file.
        path: PathBuf,
        /// 1-based line number (0 when the file could not be read).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A MaxMind-format database that cannot be used: missing, corrupt,
    /// of the wrong kind, or a record that does not decode.
    #[error("GeoIP database {path}: {message}")]
    GeoDb {
        /// Database file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A country code that is not an assigned ISO 3166-1 alpha-2 code.
    #[error("invalid country code `{input}`: {reason}")]
    InvalidCountryCode {
        /// The text given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// File or system call failure.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The interface does not exist.
    #[error("unknown network interface `{0}`")]
    UnknownInterface(String),
    /// No firewall is attached (nothing pinned) for this interface.
    #[error("no wafio firewall attached to `{iface}` (nothing pinned at {dir})")]
    NotAttached {
        /// Interface name.
        iface: String,
        /// The pin directory that was looked up.
        dir: PathBuf,
    },
    /// A firewall is already attached to this interface.
    #[error(
        "a wafio firewall is already attached to `{iface}` (pinned at {dir}); detach it first"
    )]
    AlreadyAttached {
        /// Interface name.
        iface: String,
        /// Pin directory.
        dir: PathBuf,
    },
    /// The kernel refused to load or attach a program.
    #[error("kernel refused program `{program}` ({what}): {message}")]
    Program {
        /// Program name.
        program: String,
        /// load, attach, pin, test run...
        what: String,
        /// aya's error text, with the verifier log when there is one.
        message: String,
    },
    /// A map operation failed.
    #[error("map `{map}`: {what}: {message}")]
    Map {
        /// Map name.
        map: String,
        /// The operation.
        what: String,
        /// Underlying error text.
        message: String,
    },
    /// A map is full: the rule set did not fit.
    #[error("map `{map}` is full ({capacity} entries per generation); the running rule set is unchanged")]
    MapFull {
        /// Map name.
        map: String,
        /// Entries available to one generation.
        capacity: u32,
    },
    /// Loading the eBPF object failed.
    #[error("loading the eBPF object: {0}")]
    Load(String),
}
