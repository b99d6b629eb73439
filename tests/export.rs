//! From clusters to labels: `aeclust export` writes the clusters as folders and names.csv;
//! after the names are edited (or the folders renamed), `export --names` writes labels.csv
//! and an ImageFolder tree that trains. Bad edits end in one line naming the row.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{aeclust, assert_clean_failure, listing, s, text};

/// A run of the bundled digits (k clusters) on the CPU, and its assignments.csv.
fn clustered(dir: &Path, k: &str) -> PathBuf {
    let out = dir.join("run");
    let args = [
        "run",
        "--data",
        "data/digits",
        "--out",
        s(&out),
        "--k",
        k,
        "--quiet",
    ];
    let result = aeclust(&[&args[..], &["--backend", "cpu", "--n-init", "2"]].concat());
    assert!(result.status.success(), "{}", text(&result.stderr));
    out.join("assignments.csv")
}

fn export(assignments: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let args = [
        "export",
        "--assignments",
        s(assignments),
        "--data",
        "data/digits",
        "--out",
        s(out),
    ];
    aeclust(&[&args[..], extra].concat())
}

#[test]
fn export_name_and_train_on_the_labels() {
    let dir = tempfile::tempdir().unwrap();
    let assignments = clustered(dir.path(), "10");
    let folders = dir.path().join("clusters");
    let result = export(&assignments, &folders, &[]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let mut expected: Vec<String> = (0..10).map(|c| format!("cluster-{c}")).collect();
    expected.sort();
    expected.insert(0, ".aeclust-output".into());
    expected.push("names.csv".into());
    assert_eq!(listing(&folders), expected);
    // Every image once, as a hard link to its file (the same inode), the source untouched.
    let rows = aeclust::export::read_assignments(&assignments).unwrap();
    assert_eq!(rows.len(), 1797);
    for row in rows.iter().step_by(97) {
        let linked = folders
            .join(format!("cluster-{}", row.cluster))
            .join(&row.image);
        let source = Path::new("data/digits").join(&row.image);
        assert_eq!(
            aeclust::identity::FileId::of(&linked),
            aeclust::identity::FileId::of(&source),
            "{}",
            row.image
        );
    }
    // names.csv suggests each cluster's majority digit.
    let names = std::fs::read_to_string(folders.join("names.csv")).unwrap();
    assert!(names.starts_with("cluster,name\n0,"), "{names}");
    assert_eq!(names.lines().count(), 11);

    // Edited names: two clusters merged, one skipped.
    let edited = dir.path().join("names.csv");
    let mut lines: Vec<String> = names.lines().map(str::to_string).collect();
    lines[1] = "0,\"=round\"".into();
    lines[2] = "1,=round".into();
    lines[3] = "2,skip".into();
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    let labelled = dir.path().join("labelled");
    let result = export(
        &assignments,
        &labelled,
        &["--names", s(&edited), "--image-folder"],
    );
    assert!(result.status.success(), "{}", text(&result.stderr));
    let labels = std::fs::read_to_string(labelled.join("labels.csv")).unwrap();
    let skipped = rows.iter().filter(|r| r.cluster == 2).count();
    assert_eq!(labels.lines().count(), 1 + 1797 - skipped);
    let merged = rows.iter().filter(|r| r.cluster <= 1).count();
    assert_eq!(labels.matches(",\"'=round\"\n").count(), merged, "{labels}");
    // The ImageFolder tree trains and clusters as --data, its folders the labels.
    let run = dir.path().join("again");
    let args = [
        "run",
        "--data",
        s(&labelled),
        "--out",
        s(&run),
        "--k",
        "3",
        "--quiet",
    ];
    let result = aeclust(&[&args[..], &["--backend", "cpu", "--epochs", "1"]].concat());
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(
        text(&result.stderr).contains("labels.csv"),
        "labels.csv is left out"
    );
    let csv = std::fs::read_to_string(run.join("assignments.csv")).unwrap();
    assert!(
        csv.contains(",=round,") || csv.contains(",\"'=round\","),
        "{csv}"
    );

    // Renamed folders instead of names.csv.
    std::fs::rename(folders.join("cluster-3"), folders.join("threes")).unwrap();
    std::fs::rename(folders.join("cluster-4"), folders.join("skip")).unwrap();
    let renamed = dir.path().join("renamed");
    let result = export(&assignments, &renamed, &["--names", s(&folders)]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let labels = std::fs::read_to_string(renamed.join("labels.csv")).unwrap();
    let threes = rows.iter().filter(|r| r.cluster == 3).count();
    assert_eq!(labels.matches(",threes\n").count(), threes);
    let fours = rows.iter().filter(|r| r.cluster == 4).count();
    assert_eq!(labels.lines().count(), 1 + 1797 - fours);
}

#[test]
fn bad_edits_end_in_one_line_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let assignments = clustered(dir.path(), "3");
    let names = dir.path().join("names.csv");
    let out = dir.path().join("labels");
    let with = |text: &str| {
        std::fs::write(&names, text).unwrap();
        export(&assignments, &out, &["--names", s(&names)])
    };
    let cases = [
        (
            "cluster,name\n0,a\n7,b\n",
            "row 3: \"7\" is not one of the clusters 0 to 2",
        ),
        ("cluster,name\n0,a\n1,\n", "row 3: the name \"\" is empty"),
        ("cluster,name\n0,a/b\n", "row 2: the name \"a/b\" holds a /"),
        (
            "cluster,name\n0,..\n",
            "row 2: the name \"..\" starts with a dot",
        ),
        (
            "cluster,name\n0,.hidden\n",
            "row 2: the name \".hidden\" starts with a dot",
        ),
        (
            "cluster,name\n0,labels.csv\n",
            "is the name of the labels file",
        ),
        ("cluster,name\n0,a\u{1}b\n", "a control character"),
        (
            "cluster,name\n0,a\n0,b\n",
            "row 3: cluster 0 is named twice",
        ),
        ("cluster,name\n0,a,b\n", "row 2 has 3 fields"),
        ("name,cluster\n", "the first row must be cluster,name"),
        ("cluster,name\n0,\"a\n", "a quoted field is not closed"),
    ];
    for (text, message) in cases {
        assert_clean_failure(&with(text), message);
        assert!(!out.exists(), "{message}");
    }
    // An export never writes into a folder that holds something, or holds the data.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "x").unwrap();
    assert_clean_failure(&export(&assignments, &out, &[]), "is not empty");
    assert_clean_failure(
        &export(&assignments, Path::new("data"), &[]),
        "holds the data",
    );
}

#[test]
fn names_beside_renamed_folders_a_bom_and_bad_assignments() {
    let dir = tempfile::tempdir().unwrap();
    let assignments = clustered(dir.path(), "3");
    let folders = dir.path().join("clusters");
    assert!(export(&assignments, &folders, &[]).status.success());
    // names.csv edited in the export's own folder (saved with a byte order mark, as
    // spreadsheets do), one folder renamed: the folder's name wins for its images.
    std::fs::write(
        folders.join("names.csv"),
        "\u{feff}cluster,name\n0,zero\n1,one\n2,skip\n",
    )
    .unwrap();
    std::fs::rename(folders.join("cluster-1"), folders.join("uno")).unwrap();
    let labelled = dir.path().join("labelled");
    let result = export(&assignments, &labelled, &["--names", s(&folders)]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let rows = aeclust::export::read_assignments(&assignments).unwrap();
    let count = |c: usize| rows.iter().filter(|r| r.cluster == c).count();
    let labels = std::fs::read_to_string(labelled.join("labels.csv")).unwrap();
    assert_eq!(labels.matches(",zero\n").count(), count(0));
    assert_eq!(labels.matches(",uno\n").count(), count(1));
    assert_eq!(
        labels.lines().count(),
        1 + count(0) + count(1),
        "cluster 2 skipped"
    );
    // assignments.csv edited by hand: a cluster beyond any k, an image in two rows.
    let edited = dir.path().join("edited.csv");
    let text = std::fs::read_to_string(&assignments).unwrap();
    let first = text.lines().nth(1).unwrap().to_string();
    let image = first.split(',').next().unwrap();
    for (extra, message) in [
        (
            format!("{image},4000000000,,0\n"),
            "is not a cluster 0 to 255",
        ),
        (format!("{first}\n"), "is in two rows"),
    ] {
        std::fs::write(&edited, format!("{text}{extra}")).unwrap();
        let out = dir.path().join("never");
        assert_clean_failure(&export(&edited, &out, &[]), message);
        assert!(!out.exists());
    }
}
