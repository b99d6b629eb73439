//! CSV cells, safe to open in a spreadsheet.

/// A CSV field: quoted when it holds a comma, a quote or a line break. A text that a
/// spreadsheet would run as a formula (one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return) gets a leading apostrophe and quotes, as OWASP recommends against CSV
/// injection; so does a text that starts with an apostrophe, so that removing one leading
/// apostrophe from a quoted field that has one always gives the text back.
pub fn field(value: &str) -> String {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']);
    let value = if formula {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if formula || value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(field("a/b.png"), "a/b.png");
        assert_eq!(field("a,b.png"), "\"a,b.png\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1.png"), "\"'+1.png\"");
        assert_eq!(field("-2.png"), "\"'-2.png\"");
        assert_eq!(field("@sum"), "\"'@sum\"");
        assert_eq!(field("\tx"), "\"'\tx\"");
        assert_eq!(field("a=b"), "a=b");
        assert_eq!(field("'=x"), "\"''=x\"");
        assert_eq!(field("'a"), "\"''a\"");
    }
}
