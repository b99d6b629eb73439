//! report.html in a real browser (headless Chromium): every cluster section and every
//! picture renders, no image is broken, nothing is logged to the console, and the names
//! form gives the names.csv that `export --names` takes.

mod common;

use std::path::Path;
use std::process::Command;

use common::cli::{aeclust, s, text};

const INSTALL_HINT: &str = "the report test opens report.html in Chromium: apt-get install -y \
    chromium (or set CHROMIUM to a Chromium or Chrome executable)";

/// Loads `page` in headless Chromium and returns the text of its element `#result` after
/// its scripts ran, and every console line logged.
fn in_chromium(page: &Path, profile: &Path) -> (String, Vec<String>) {
    let browser = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let output = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot start {browser}: {e}. {INSTALL_HINT}"));
    let dom = text(&output.stdout);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no result in the page: {dom}"))
        .replace("&quot;", "\"");
    let console = text(&output.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (result, console)
}

#[test]
fn the_report_renders_every_cluster_and_picture_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = [
        "run",
        "--data",
        "data/digits",
        "--out",
        s(&out),
        "--k",
        "12",
        "--quiet",
    ];
    let result = aeclust(
        &[
            &args[..],
            &["--backend", "cpu", "--embed", "umap", "--n-init", "2"],
        ]
        .concat(),
    );
    assert!(result.status.success(), "{}", text(&result.stderr));
    let report = out.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network"
    );
    // A page that opens the report in a frame and inspects it.
    let check = dir.path().join("check.html");
    std::fs::write(
        &check,
        format!(
            r#"<!DOCTYPE html><html><body><pre id="result">not loaded</pre>
<iframe id="page" src="file://{}"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {{
  const doc = this.contentDocument;
  const images = Array.from(doc.images);
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  const sections = doc.querySelectorAll("section.cluster").length;
  const links = Array.from(doc.querySelectorAll("area")).filter(a => a.href.startsWith("file://")).length;
  doc.querySelector("input[data-cluster='1']").value = "=sum,\"x\"";
  const csv = this.contentWindow.namesCsv();
  document.getElementById("result").textContent =
    JSON.stringify({{images: images.length, broken, sections, links, csv}});
}});
</script></body></html>"#,
            report.display()
        ),
    )
    .unwrap();
    let (result, console) = in_chromium(&check, &dir.path().join("profile"));
    assert!(console.is_empty(), "the console: {console:?}");
    let result: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["sections"], 12, "{result}");
    assert_eq!(result["broken"], 0, "{result}");
    // The loss, the map, and two sheets per cluster.
    assert_eq!(result["images"], 2 + 2 * 12, "{result}");
    // Each cluster's 16 most typical and 8 least typical images link to their files.
    assert_eq!(result["links"], 12 * 24, "{result}");
    // The form's names.csv reads back as export --names reads it.
    let csv = result["csv"].as_str().unwrap();
    let rows = aeclust::report::csv::parse(csv, "names.csv").unwrap();
    assert_eq!(rows.len(), 13);
    assert_eq!(rows[2], ["1", "=sum,\"x\""]);
    assert!(csv.contains("\n1,\"'=sum,\"\"x\"\"\"\n"), "{csv}");
}
