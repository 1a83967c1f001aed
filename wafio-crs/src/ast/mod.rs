//! SecLang lexer and parser. IN PROGRESS: nothing here yet.
