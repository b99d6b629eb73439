//! CSV cells, safe to open in a spreadsheet, and CSV files read back.

use anyhow::{bail, Result};

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

/// The text of a cell that [`field`] wrote (one leading apostrophe before a formula
/// character or an apostrophe removed).
fn unneutralised(cell: String) -> String {
    let formula = cell.len() > 1
        && cell.starts_with('\'')
        && cell[1..].starts_with(['=', '+', '-', '@', '\t', '\r', '\'']);
    if formula {
        cell[1..].to_string()
    } else {
        cell
    }
}

/// The rows of a CSV text (RFC 4180: quoted fields may hold commas, quotes and line breaks;
/// CRLF or LF line ends), each cell as [`field`] was given it; `name` names the file in
/// errors.
pub fn parse(text: &str, name: &str) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                line += usize::from(c == '\n');
                cell.push(c);
            }
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(unneutralised(std::mem::take(&mut cell))),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(unneutralised(std::mem::take(&mut cell)));
                rows.push(std::mem::take(&mut row));
                line += 1;
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        bail!("{name}: line {line}: a quoted field is not closed");
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(unneutralised(cell));
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::{field, parse};

    #[test]
    fn what_is_written_is_read_back() {
        let cells = [
            "a/b.png",
            "a,b",
            "say \"hi\"",
            "=1+1",
            "+x",
            "-2",
            "@a",
            "'=x",
            "'plain",
            "two\nlines",
            "",
            "café",
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        let text = format!("{}\r\n{}\n", line.join(","), line.join(","));
        let rows = parse(&text, "t.csv").unwrap();
        assert_eq!(rows.len(), 2);
        for row in rows {
            assert_eq!(row, cells);
        }
        assert!(parse("a,\"b\n", "t.csv")
            .unwrap_err()
            .to_string()
            .contains("not closed"));
        assert_eq!(parse("x", "t.csv").unwrap(), [["x"]]);
    }

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
