//! The complete sets of names the SecLang parser accepts: directives,
//! variables, operators, actions, transformations and `ctl:` options.
//!
//! Every lookup is ASCII case-insensitive (as in libmodsecurity 3, whose
//! scanner is caseless) and returns the canonical spelling, so later stages
//! compare canonical names only.

/// How many arguments a directive takes and, for settings, which values
/// are allowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DirectiveSpec {
    /// Canonical name.
    pub name: &'static str,
    /// Minimum number of arguments.
    pub min: usize,
    /// Maximum number of arguments.
    pub max: usize,
    /// Allowed values of the first argument (case-insensitive); empty when
    /// any value is allowed.
    pub values: &'static [&'static str],
}

const ON_OFF: &[&str] = &["On", "Off"];

macro_rules! d {
    ($name:literal, $min:literal, $max:expr) => {
        DirectiveSpec {
            name: $name,
            min: $min,
            max: $max,
            values: &[],
        }
    };
    ($name:literal, $min:literal, $max:expr, $values:expr) => {
        DirectiveSpec {
            name: $name,
            min: $min,
            max: $max,
            values: $values,
        }
    };
}

/// Every directive the parser knows (ModSecurity v2/v3 reference manual).
pub(crate) const DIRECTIVES: &[DirectiveSpec] = &[
    d!("SecRule", 2, 3),
    d!("SecAction", 1, 1),
    d!("SecMarker", 1, 1),
    d!("SecDefaultAction", 1, 1),
    d!("Include", 1, 1),
    d!("SecRuleRemoveById", 1, usize::MAX),
    d!("SecRuleRemoveByTag", 1, 1),
    d!("SecRuleRemoveByMsg", 1, 1),
    d!("SecRuleUpdateTargetById", 2, 3),
    d!("SecRuleUpdateTargetByTag", 2, 3),
    d!("SecRuleUpdateTargetByMsg", 2, 3),
    d!("SecRuleUpdateActionById", 2, 2),
    d!("SecRuleScript", 1, 2),
    d!("SecRuleEngine", 1, 1, &["On", "Off", "DetectionOnly"]),
    d!("SecRequestBodyAccess", 1, 1, ON_OFF),
    d!("SecResponseBodyAccess", 1, 1, ON_OFF),
    d!("SecRequestBodyLimit", 1, 1),
    d!("SecRequestBodyNoFilesLimit", 1, 1),
    d!("SecRequestBodyInMemoryLimit", 1, 1),
    d!(
        "SecRequestBodyLimitAction",
        1,
        1,
        &["Reject", "ProcessPartial"]
    ),
    d!("SecRequestBodyJsonDepthLimit", 1, 1),
    d!("SecResponseBodyLimit", 1, 1),
    d!(
        "SecResponseBodyLimitAction",
        1,
        1,
        &["Reject", "ProcessPartial"]
    ),
    d!("SecResponseBodyMimeType", 1, usize::MAX),
    d!("SecResponseBodyMimeTypesClear", 0, 0),
    d!("SecArgumentsLimit", 1, 1),
    d!("SecArgumentSeparator", 1, 1),
    d!("SecCookieFormat", 1, 1, &["0", "1"]),
    d!("SecCookieV0Separator", 1, 1),
    d!("SecComponentSignature", 1, 1),
    d!("SecServerSignature", 1, 1),
    d!("SecWebAppId", 1, 1),
    d!("SecSensorId", 1, 1),
    d!("SecCollectionTimeout", 1, 1),
    d!("SecUnicodeMapFile", 1, 2),
    d!("SecUnicodeCodePage", 1, 1),
    d!("SecAuditEngine", 1, 1, &["On", "Off", "RelevantOnly"]),
    d!("SecAuditLog", 1, 1),
    d!("SecAuditLog2", 1, 1),
    d!("SecAuditLogDirMode", 1, 1),
    d!("SecAuditLogFileMode", 1, 1),
    d!("SecAuditLogFormat", 1, 1, &["JSON", "Native"]),
    d!("SecAuditLogParts", 1, 1),
    d!("SecAuditLogRelevantStatus", 1, 1),
    d!("SecAuditLogStorageDir", 1, 1),
    d!("SecAuditLogType", 1, 1, &["Serial", "Concurrent", "HTTPS"]),
    d!("SecDebugLog", 1, 1),
    d!("SecDebugLogLevel", 1, 1),
    d!("SecDataDir", 1, 1),
    d!("SecTmpDir", 1, 1),
    d!("SecUploadDir", 1, 1),
    d!("SecUploadFileLimit", 1, 1),
    d!("SecUploadFileMode", 1, 1),
    d!("SecUploadKeepFiles", 1, 1, &["On", "Off", "RelevantOnly"]),
    d!("SecTmpSaveUploadedFiles", 1, 1, ON_OFF),
    d!("SecPcreMatchLimit", 1, 1),
    d!("SecPcreMatchLimitRecursion", 1, 1),
    d!("SecGeoLookupDb", 1, 1),
    d!("SecGsbLookupDb", 1, 1),
    d!("SecHttpBlKey", 1, 1),
    d!("SecXmlExternalEntity", 1, 1, ON_OFF),
    d!("SecParseXmlIntoArgs", 1, 1, &["On", "Off", "OnlyArgs"]),
    d!("SecStatusEngine", 1, 1, ON_OFF),
    d!("SecContentInjection", 1, 1, ON_OFF),
    d!("SecStreamInBodyInspection", 1, 1, ON_OFF),
    d!("SecStreamOutBodyInspection", 1, 1, ON_OFF),
    d!("SecDisableBackendCompression", 1, 1, ON_OFF),
    d!("SecInterceptOnError", 1, 1, ON_OFF),
    d!("SecRuleInheritance", 1, 1, ON_OFF),
    d!("SecRulePerfTime", 1, 1),
    d!("SecConnEngine", 1, 1, &["On", "Off", "DetectionOnly"]),
    d!("SecReadStateLimit", 1, 1),
    d!("SecWriteStateLimit", 1, 1),
    d!("SecConnReadStateLimit", 1, 2),
    d!("SecConnWriteStateLimit", 1, 2),
    d!("SecGuardianLog", 1, 1),
    d!("SecHashEngine", 1, 1, ON_OFF),
    d!("SecHashKey", 1, 2),
    d!("SecHashParam", 1, 1),
    d!("SecHashMethodRx", 2, 2),
    d!("SecHashMethodPm", 2, 2),
    d!("SecRemoteRules", 2, 3),
    d!("SecRemoteRulesFailAction", 1, 1, &["Abort", "Warn"]),
];

/// The specification of a directive, by any capitalisation of its name.
pub(crate) fn directive(name: &str) -> Option<&'static DirectiveSpec> {
    DIRECTIVES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

/// A known variable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VariableSpec {
    /// Canonical (upper-case) name.
    pub name: &'static str,
    /// Whether the variable is a collection that accepts a `:selector`.
    pub collection: bool,
}

macro_rules! v {
    ($name:literal, c) => {
        VariableSpec {
            name: $name,
            collection: true,
        }
    };
    ($name:literal) => {
        VariableSpec {
            name: $name,
            collection: false,
        }
    };
}

/// Every variable and collection the parser knows.
pub(crate) const VARIABLES: &[VariableSpec] = &[
    v!("ARGS", c),
    v!("ARGS_NAMES", c),
    v!("ARGS_GET", c),
    v!("ARGS_GET_NAMES", c),
    v!("ARGS_POST", c),
    v!("ARGS_POST_NAMES", c),
    v!("ARGS_COMBINED_SIZE"),
    v!("AUTH_TYPE"),
    v!("DURATION"),
    v!("ENV", c),
    v!("FILES", c),
    v!("FILES_NAMES", c),
    v!("FILES_SIZES", c),
    v!("FILES_TMPNAMES", c),
    v!("FILES_TMP_CONTENT", c),
    v!("FILES_COMBINED_SIZE"),
    v!("FULL_REQUEST"),
    v!("FULL_REQUEST_LENGTH"),
    v!("GEO", c),
    v!("GLOBAL", c),
    v!("HIGHEST_SEVERITY"),
    v!("INBOUND_DATA_ERROR"),
    v!("IP", c),
    v!("MATCHED_VAR"),
    v!("MATCHED_VARS", c),
    v!("MATCHED_VAR_NAME"),
    v!("MATCHED_VARS_NAMES", c),
    v!("MODSEC_BUILD"),
    v!("MSC_PCRE_LIMITS_EXCEEDED"),
    v!("MULTIPART_BOUNDARY_QUOTED"),
    v!("MULTIPART_BOUNDARY_WHITESPACE"),
    v!("MULTIPART_CRLF_LF_LINES"),
    v!("MULTIPART_DATA_AFTER"),
    v!("MULTIPART_DATA_BEFORE"),
    v!("MULTIPART_FILE_LIMIT_EXCEEDED"),
    v!("MULTIPART_FILENAME", c),
    v!("MULTIPART_HEADER_FOLDING"),
    v!("MULTIPART_INVALID_HEADER_FOLDING"),
    v!("MULTIPART_INVALID_PART"),
    v!("MULTIPART_INVALID_QUOTING"),
    v!("MULTIPART_LF_LINE"),
    v!("MULTIPART_MISSING_SEMICOLON"),
    v!("MULTIPART_NAME", c),
    v!("MULTIPART_PART_HEADERS", c),
    v!("MULTIPART_SEMICOLON_MISSING"),
    v!("MULTIPART_STRICT_ERROR"),
    v!("MULTIPART_UNMATCHED_BOUNDARY"),
    v!("OUTBOUND_DATA_ERROR"),
    v!("PATH_INFO"),
    v!("PERF_ALL"),
    v!("PERF_COMBINED"),
    v!("PERF_GC"),
    v!("PERF_LOGGING"),
    v!("PERF_PHASE1"),
    v!("PERF_PHASE2"),
    v!("PERF_PHASE3"),
    v!("PERF_PHASE4"),
    v!("PERF_PHASE5"),
    v!("PERF_RULES", c),
    v!("PERF_SREAD"),
    v!("PERF_SWRITE"),
    v!("QUERY_STRING"),
    v!("REMOTE_ADDR"),
    v!("REMOTE_HOST"),
    v!("REMOTE_PORT"),
    v!("REMOTE_USER"),
    v!("REQBODY_ERROR"),
    v!("REQBODY_ERROR_MSG"),
    v!("REQBODY_PROCESSOR"),
    v!("REQBODY_PROCESSOR_ERROR"),
    v!("REQBODY_PROCESSOR_ERROR_MSG"),
    v!("REQUEST_BASENAME"),
    v!("REQUEST_BODY"),
    v!("REQUEST_BODY_LENGTH"),
    v!("REQUEST_COOKIES", c),
    v!("REQUEST_COOKIES_NAMES", c),
    v!("REQUEST_FILENAME"),
    v!("REQUEST_HEADERS", c),
    v!("REQUEST_HEADERS_NAMES", c),
    v!("REQUEST_LINE"),
    v!("REQUEST_METHOD"),
    v!("REQUEST_PROTOCOL"),
    v!("REQUEST_URI"),
    v!("REQUEST_URI_RAW"),
    v!("RESOURCE", c),
    v!("RESPONSE_BODY"),
    v!("RESPONSE_CONTENT_LENGTH"),
    v!("RESPONSE_CONTENT_TYPE"),
    v!("RESPONSE_HEADERS", c),
    v!("RESPONSE_HEADERS_NAMES", c),
    v!("RESPONSE_PROTOCOL"),
    v!("RESPONSE_STATUS"),
    v!("RULE", c),
    v!("SCRIPT_BASENAME"),
    v!("SCRIPT_FILENAME"),
    v!("SCRIPT_GID"),
    v!("SCRIPT_GROUPNAME"),
    v!("SCRIPT_MODE"),
    v!("SCRIPT_UID"),
    v!("SCRIPT_USERNAME"),
    v!("SDBM_DELETE_ERROR"),
    v!("SERVER_ADDR"),
    v!("SERVER_NAME"),
    v!("SERVER_PORT"),
    v!("SESSION", c),
    v!("SESSIONID"),
    v!("STATUS_LINE"),
    v!("STREAM_INPUT_BODY"),
    v!("STREAM_OUTPUT_BODY"),
    v!("TIME"),
    v!("TIME_DAY"),
    v!("TIME_EPOCH"),
    v!("TIME_HOUR"),
    v!("TIME_MIN"),
    v!("TIME_MON"),
    v!("TIME_SEC"),
    v!("TIME_WDAY"),
    v!("TIME_YEAR"),
    v!("TX", c),
    v!("UNIQUE_ID"),
    v!("URLENCODED_ERROR"),
    v!("USER", c),
    v!("USERAGENT_IP"),
    v!("USERID"),
    v!("WEBAPPID"),
    v!("WEBSERVER_ERROR_LOG"),
    v!("XML", c),
];

/// The specification of a variable, by any capitalisation of its name.
pub(crate) fn variable(name: &str) -> Option<&'static VariableSpec> {
    VARIABLES.iter().find(|v| v.name.eq_ignore_ascii_case(name))
}

/// Whether an operator takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    /// The argument must be present and non-empty.
    Required,
    /// The operator takes no argument (one given is ignored by ModSecurity;
    /// we keep it in the AST).
    Optional,
}

/// Every operator: canonical name and whether it takes an argument.
pub(crate) const OPERATORS: &[(&str, Arg)] = &[
    ("rx", Arg::Required),
    ("rxGlobal", Arg::Required),
    ("pm", Arg::Required),
    ("pmf", Arg::Required),
    ("pmFromFile", Arg::Required),
    ("detectSQLi", Arg::Optional),
    ("detectXSS", Arg::Optional),
    ("within", Arg::Optional),
    ("streq", Arg::Optional),
    ("strmatch", Arg::Required),
    ("eq", Arg::Optional),
    ("ge", Arg::Optional),
    ("gt", Arg::Optional),
    ("lt", Arg::Optional),
    ("le", Arg::Optional),
    ("beginsWith", Arg::Optional),
    ("endsWith", Arg::Optional),
    ("contains", Arg::Optional),
    ("containsWord", Arg::Optional),
    ("ipMatch", Arg::Required),
    ("ipMatchF", Arg::Required),
    ("ipMatchFromFile", Arg::Required),
    ("validateByteRange", Arg::Required),
    ("validateUrlEncoding", Arg::Optional),
    ("validateUtf8Encoding", Arg::Optional),
    ("validateDTD", Arg::Required),
    ("validateSchema", Arg::Required),
    ("validateHash", Arg::Required),
    ("unconditionalMatch", Arg::Optional),
    ("noMatch", Arg::Optional),
    ("rbl", Arg::Required),
    ("geoLookup", Arg::Optional),
    ("gsbLookup", Arg::Required),
    ("inspectFile", Arg::Required),
    ("fuzzyHash", Arg::Required),
    ("verifyCC", Arg::Required),
    ("verifyCPF", Arg::Required),
    ("verifySSN", Arg::Required),
    ("verifySVNR", Arg::Required),
    ("rsub", Arg::Required),
];

/// The canonical name and argument rule of an operator (name without `@`).
pub(crate) fn operator(name: &str) -> Option<(&'static str, Arg)> {
    OPERATORS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .copied()
}

/// Whether an action takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value {
    /// `name` only.
    None,
    /// `name:value` only.
    Required,
    /// Either.
    Optional,
}

/// Every action: canonical name and whether it takes a value.
pub(crate) const ACTIONS: &[(&str, Value)] = &[
    ("accuracy", Value::Required),
    ("allow", Value::Optional),
    ("append", Value::Required),
    ("auditlog", Value::None),
    ("block", Value::None),
    ("capture", Value::None),
    ("chain", Value::None),
    ("ctl", Value::Required),
    ("deny", Value::None),
    ("deprecatevar", Value::Required),
    ("drop", Value::None),
    ("exec", Value::Required),
    ("expirevar", Value::Required),
    ("id", Value::Required),
    ("initcol", Value::Required),
    ("log", Value::None),
    ("logdata", Value::Required),
    ("maturity", Value::Required),
    ("msg", Value::Required),
    ("multiMatch", Value::None),
    ("noauditlog", Value::None),
    ("nolog", Value::None),
    ("pass", Value::None),
    ("pause", Value::Required),
    ("phase", Value::Required),
    ("prepend", Value::Required),
    ("proxy", Value::Required),
    ("redirect", Value::Required),
    ("rev", Value::Required),
    ("sanitiseArg", Value::Required),
    ("sanitiseMatched", Value::None),
    ("sanitiseMatchedBytes", Value::Optional),
    ("sanitiseRequestHeader", Value::Required),
    ("sanitiseResponseHeader", Value::Required),
    ("setenv", Value::Required),
    ("setrsc", Value::Required),
    ("setsid", Value::Required),
    ("setuid", Value::Required),
    ("setvar", Value::Required),
    ("severity", Value::Required),
    ("skip", Value::Required),
    ("skipAfter", Value::Required),
    ("status", Value::Required),
    ("t", Value::Required),
    ("tag", Value::Required),
    ("ver", Value::Required),
    ("xmlns", Value::Required),
];

/// The canonical name and value rule of an action.
pub(crate) fn action(name: &str) -> Option<(&'static str, Value)> {
    ACTIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .copied()
}

/// Every transformation (`t:` value), canonical spelling.
pub(crate) const TRANSFORMATIONS: &[&str] = &[
    "base64Decode",
    "base64DecodeExt",
    "base64Encode",
    "cmdLine",
    "compressWhitespace",
    "cssDecode",
    "escapeSeqDecode",
    "hexDecode",
    "hexEncode",
    "htmlEntityDecode",
    "jsDecode",
    "length",
    "lowercase",
    "md5",
    "none",
    "normalisePath",
    "normalizePath",
    "normalisePathWin",
    "normalizePathWin",
    "parityEven7bit",
    "parityOdd7bit",
    "parityZero7bit",
    "removeComments",
    "removeCommentsChar",
    "removeNulls",
    "removeWhitespace",
    "replaceComments",
    "replaceNulls",
    "sha1",
    "sqlHexDecode",
    "trim",
    "trimLeft",
    "trimRight",
    "uppercase",
    "urlDecode",
    "urlDecodeUni",
    "urlEncode",
    "utf8toUnicode",
];

/// The canonical spelling of a transformation.
pub(crate) fn transformation(name: &str) -> Option<&'static str> {
    TRANSFORMATIONS
        .iter()
        .find(|t| t.eq_ignore_ascii_case(name))
        .copied()
}

/// Every `ctl:` option, canonical spelling.
pub(crate) const CTL_OPTIONS: &[&str] = &[
    "auditEngine",
    "auditLogParts",
    "debugLogLevel",
    "forceRequestBodyVariable",
    "hashEnforcement",
    "hashEngine",
    "parseXmlIntoArgs",
    "requestBodyAccess",
    "requestBodyLimit",
    "requestBodyProcessor",
    "responseBodyAccess",
    "responseBodyLimit",
    "ruleEngine",
    "ruleRemoveById",
    "ruleRemoveByMsg",
    "ruleRemoveByTag",
    "ruleRemoveTargetById",
    "ruleRemoveTargetByMsg",
    "ruleRemoveTargetByTag",
];

/// The canonical spelling of a `ctl:` option.
pub(crate) fn ctl_option(name: &str) -> Option<&'static str> {
    CTL_OPTIONS
        .iter()
        .find(|t| t.eq_ignore_ascii_case(name))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_unique<'a>(names: impl Iterator<Item = &'a str>) {
        let mut seen: Vec<String> = Vec::new();
        for n in names {
            let lower = n.to_ascii_lowercase();
            assert!(!seen.contains(&lower), "duplicate known name {n}");
            seen.push(lower);
        }
    }

    #[test]
    fn tables_have_no_duplicates() {
        assert_unique(DIRECTIVES.iter().map(|d| d.name));
        assert_unique(VARIABLES.iter().map(|v| v.name));
        assert_unique(OPERATORS.iter().map(|o| o.0));
        assert_unique(ACTIONS.iter().map(|a| a.0));
        assert_unique(TRANSFORMATIONS.iter().copied());
        assert_unique(CTL_OPTIONS.iter().copied());
    }

    #[test]
    fn lookups_are_case_insensitive_and_canonical() {
        assert_eq!(transformation("base64decode"), Some("base64Decode"));
        assert_eq!(operator("DETECTSQLI").map(|o| o.0), Some("detectSQLi"));
        assert_eq!(action("SKIPAFTER").map(|a| a.0), Some("skipAfter"));
        assert_eq!(
            variable("request_headers").map(|v| v.name),
            Some("REQUEST_HEADERS")
        );
        assert_eq!(
            directive("secruleengine").map(|d| d.name),
            Some("SecRuleEngine")
        );
        assert_eq!(ctl_option("RULEREMOVEBYID"), Some("ruleRemoveById"));
        assert!(operator("nosuch").is_none());
        assert!(variable("ARGZ").is_none());
    }
}
