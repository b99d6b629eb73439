//! `report.html`: one self-contained page to look through a clustering: the settings, the
//! scores, the loss curve and the map, then one section per cluster with its size, its
//! majority class, its spread, its nearest other cluster, and its most and least typical
//! members as thumbnail sheets (each thumbnail linked to its file for a folder). A name field
//! per cluster, and a button that saves `names.csv` (the file `aeclust export --names` takes),
//! in plain JavaScript with no network.
//!
//! Typicality is the distance to the cluster's centre (in the space k-means ran in): the
//! members nearest it are the most typical, the farthest the least typical, where mislabelled
//! or odd images hide. Pictures are PNGs embedded as data URIs, one sheet per cluster and
//! kind, so the page stays one file at any size.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use base64::Engine as _;

use super::images::{image_grid, png_bytes, thumbnail, ImageShape};
use super::palette;
use crate::cluster::metrics::contingency;
use crate::cluster::ClusterRun;
use crate::data::{names, Dataset};
use crate::output::write_atomic;

/// Members shown per cluster: the most typical, and the least typical.
pub const TYPICAL: usize = 16;
pub const ATYPICAL: usize = 8;
/// Thumbnails are at most this many pixels on a side.
const THUMBNAIL: usize = 64;
/// Thumbnails per sheet row.
const PER_ROW: usize = 8;

/// What the page shows.
pub struct HtmlReport<'a> {
    pub title: String,
    /// Settings and facts as (name, value) rows.
    pub settings: Vec<(String, String)>,
    pub runs: &'a [ClusterRun],
    /// Pictures shown above the clusters: (caption, PNG bytes).
    pub pictures: Vec<(String, Vec<u8>)>,
    /// The clustered images, with their names, labels and classes.
    pub data: &'a Dataset,
    /// Where the images' files are (an image folder), to link each thumbnail to its file.
    pub files_root: Option<&'a Path>,
    pub clusters: &'a [u32],
    pub distances: &'a [f64],
    /// The centroids (k x width) in the space k-means ran in.
    pub centroids: &'a [f32],
    pub k: usize,
}

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// A `file://` address of `root` joined with the escaped relative `name`.
fn file_url(root: &Path, name: &str) -> Option<String> {
    let relative = names::unescape(name)?;
    let path = crate::identity::absolute(&root.join(relative));
    let mut url = String::from("file://");
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
            url.push(byte as char);
        } else {
            let _ = write!(url, "%{byte:02X}");
        }
    }
    Some(url)
}

/// The suggested name of each cluster: its majority class when the images have classes,
/// else `cluster-<c>`.
pub fn suggested_names(data: &Dataset, clusters: &[u32], k: usize) -> Vec<String> {
    let counts = data.labels.as_ref().map(|l| contingency(clusters, l));
    (0..k)
        .map(|c| {
            let majority = counts
                .as_ref()
                .and_then(|counts| counts.get(c))
                .filter(|row| row.iter().any(|&v| v > 0))
                .and_then(|row| (0..row.len()).max_by_key(|&l| (row[l], usize::MAX - l)))
                .and_then(|l| data.classes.get(l));
            majority.cloned().unwrap_or_else(|| format!("cluster-{c}"))
        })
        .collect()
}

impl HtmlReport<'_> {
    /// Writes the page to `path` (atomically).
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.render()?.as_bytes())
    }

    fn render(&self) -> Result<String> {
        let mut page = String::new();
        let title = escape(&self.title);
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>{title}</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
        );
        page += "<table class=\"settings\">";
        for (name, value) in &self.settings {
            let _ = write!(
                page,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name),
                escape(value)
            );
        }
        page += "</table>\n";
        self.render_scores(&mut page);
        for (caption, png) in &self.pictures {
            let _ = writeln!(
                page,
                "<figure><img class=\"plot\" src=\"{}\" alt=\"{1}\"><figcaption>{1}</figcaption></figure>",
                data_uri(png),
                escape(caption)
            );
        }
        self.render_names_form(&mut page);
        let names = suggested_names(self.data, self.clusters, self.k);
        self.render_index(&mut page, &names);
        for (c, name) in names.iter().enumerate() {
            self.render_cluster(&mut page, c, name)?;
        }
        let _ = write!(page, "<script>{SCRIPT}</script>\n</body></html>\n");
        Ok(page)
    }

    fn render_scores(&self, page: &mut String) {
        page.push_str(
            "<h2>Scores</h2><table class=\"scores\"><tr><th>features</th><th>acc</th>\
             <th>NMI</th><th>ARI</th><th>inertia</th></tr>",
        );
        let score = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        for run in self.runs {
            let _ = write!(
                page,
                "<tr><td>{} ({} x {})</td><td>{}</td><td>{}</td><td>{}</td><td>{:.6e}</td></tr>",
                escape(&run.features),
                run.samples,
                run.dims,
                score(run.acc),
                score(run.nmi),
                score(run.ari),
                run.inertia
            );
        }
        page.push_str("</table>\n");
    }

    fn render_names_form(&self, page: &mut String) {
        page.push_str(
            "<h2>Names</h2><p>Name the clusters in the fields below (two clusters may share a \
             name; <code>skip</code> leaves a cluster out), then save <code>names.csv</code> \
             for <code>aeclust export --names</code>.</p>\
             <p><button id=\"save\" type=\"button\">Save names.csv</button></p>\
             <pre id=\"names-csv\"></pre>\n",
        );
    }

    /// A table of the clusters, each linked to its section: size and suggested name.
    fn render_index(&self, page: &mut String, names: &[String]) {
        page.push_str("<h2>Clusters</h2><table class=\"index\"><tr><th>cluster</th><th>images</th><th>suggested name</th></tr>");
        let mut sizes = vec![0usize; self.k];
        for &c in self.clusters {
            sizes[c as usize] += 1;
        }
        for (c, (name, size)) in names.iter().zip(&sizes).enumerate() {
            let _ = write!(
                page,
                "<tr><td><a href=\"#cluster-{c}\">{c}</a></td><td>{size}</td><td>{}</td></tr>",
                escape(name)
            );
        }
        page.push_str("</table>\n");
    }

    fn render_cluster(&self, page: &mut String, c: usize, suggested: &str) -> Result<()> {
        let members: Vec<usize> = (0..self.clusters.len())
            .filter(|&i| self.clusters[i] as usize == c)
            .collect();
        let size = members.len();
        let mean = members.iter().map(|&i| self.distances[i]).sum::<f64>() / size.max(1) as f64;
        let _ = write!(
            page,
            "<section class=\"cluster\" id=\"cluster-{c}\"><h2><span class=\"swatch\" \
             style=\"background:{}\"></span>Cluster {c}</h2>\n<p>{size} images",
            palette::hex(c)
        );
        if let Some(majority) = self.majority(&members) {
            page.push_str(&majority);
        }
        let _ = write!(page, "; mean squared distance to its centre {mean:.4}");
        if let Some((other, distance)) = self.nearest_other(c) {
            let _ = write!(
                page,
                "; nearest other cluster: <a href=\"#cluster-{other}\">{other}</a> (centres \
                 {distance:.4} apart, squared)"
            );
        }
        let _ = write!(
            page,
            ".</p>\n<p><label>Name <input data-cluster=\"{c}\" value=\"{}\"></label></p>\n",
            escape(suggested)
        );
        let mut by_distance = members.clone();
        by_distance.sort_by(|&a, &b| self.distances[a].total_cmp(&self.distances[b]));
        let typical: Vec<usize> = by_distance.iter().copied().take(TYPICAL).collect();
        let atypical: Vec<usize> = by_distance
            .iter()
            .rev()
            .copied()
            .filter(|i| !typical.contains(i))
            .take(ATYPICAL)
            .collect();
        self.render_sheet(page, c, "most typical (nearest the centre)", &typical)?;
        self.render_sheet(
            page,
            c,
            "least typical (farthest from the centre)",
            &atypical,
        )?;
        page.push_str("</section>\n");
        Ok(())
    }

    /// "; majority class X (N%)" when the images have classes.
    fn majority(&self, members: &[usize]) -> Option<String> {
        let labels = self.data.labels.as_ref()?;
        let mut counts = vec![0usize; self.data.classes.len()];
        for &i in members {
            if let Some(count) = counts.get_mut(labels[i] as usize) {
                *count += 1;
            }
        }
        let (class, &count) = counts
            .iter()
            .enumerate()
            .max_by_key(|&(l, &n)| (n, usize::MAX - l))?;
        (count > 0).then(|| {
            format!(
                "; majority class <b>{}</b> ({:.0}%)",
                escape(&self.data.classes[class]),
                100.0 * count as f64 / members.len() as f64
            )
        })
    }

    /// The cluster whose centre is nearest cluster `c`'s, and the squared distance.
    fn nearest_other(&self, c: usize) -> Option<(usize, f64)> {
        let width = self.centroids.len() / self.k.max(1);
        let centre = |j: usize| &self.centroids[j * width..(j + 1) * width];
        (0..self.k)
            .filter(|&j| j != c)
            .map(|j| {
                let d: f64 = centre(c)
                    .iter()
                    .zip(centre(j))
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum();
                (j, d)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// One thumbnail sheet, with an image map linking each thumbnail to its file.
    fn render_sheet(
        &self,
        page: &mut String,
        c: usize,
        caption: &str,
        shown: &[usize],
    ) -> Result<()> {
        if shown.is_empty() {
            return Ok(());
        }
        let shape = self.data.shape();
        let size = shape.size();
        let thumbs: Vec<(Vec<u8>, ImageShape)> = shown
            .iter()
            .map(|&i| {
                thumbnail(
                    &self.data.pixels[i * size..(i + 1) * size],
                    shape,
                    THUMBNAIL,
                )
            })
            .collect();
        let small = thumbs[0].1;
        let scale = (THUMBNAIL / small.rows.max(small.cols)).clamp(1, 8);
        let cells: Vec<&[u8]> = thumbs.iter().map(|(t, _)| t.as_slice()).collect();
        let sheet = image_grid(&cells, small, PER_ROW, scale);
        let map = format!("sheet-{c}-{}", caption.split(' ').next().unwrap_or("x"));
        let _ = write!(
            page,
            "<figure><img class=\"sheet\" src=\"{}\" alt=\"cluster {c}, {caption}\" \
             usemap=\"#{map}\"><figcaption>{caption}</figcaption></figure>\n<map name=\"{map}\">",
            data_uri(&png_bytes(&sheet)?),
        );
        let (cell_w, cell_h) = (small.cols * scale + 1, small.rows * scale + 1);
        for (slot, &i) in shown.iter().enumerate() {
            let (x, y) = ((slot % PER_ROW) * cell_w + 1, (slot / PER_ROW) * cell_h + 1);
            let name = self.data.name(i);
            let href = self
                .files_root
                .and_then(|root| file_url(root, &name))
                .unwrap_or_else(|| "#".into());
            let _ = write!(
                page,
                "<area shape=\"rect\" coords=\"{x},{y},{},{}\" href=\"{}\" title=\"{}\" alt=\"{}\">",
                x + cell_w - 1,
                y + cell_h - 1,
                escape(&href),
                escape(&name),
                escape(&name)
            );
        }
        page.push_str("</map>\n");
        Ok(())
    }
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;\
color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;\
padding:.2em .6em;text-align:left}figure{margin:1em 0}figure img{max-width:100%}figure img.plot{max-width:720px}\
img.sheet{image-rendering:pixelated}section.cluster{border-top:1px solid #ccc;margin-top:2em}\
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em;border-radius:50%}\
pre{background:#f4f4f4;padding:.5em}";

/// Builds names.csv from the name fields (CSV quoting as aeclust writes it), shows it, and
/// saves it as a download.
const SCRIPT: &str = r#"
function csvField(text) {
  const formula = /^[=+\-@\t\r']/.test(text);
  if (formula) text = "'" + text;
  return formula || /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}
function namesCsv() {
  const rows = ["cluster,name"];
  document.querySelectorAll("input[data-cluster]").forEach(function (input) {
    rows.push(input.dataset.cluster + "," + csvField(input.value.trim()));
  });
  return rows.join("\n") + "\n";
}
function showNames() {
  document.getElementById("names-csv").textContent = namesCsv();
}
document.querySelectorAll("input[data-cluster]").forEach(function (input) {
  input.addEventListener("input", showNames);
});
document.getElementById("save").addEventListener("click", function () {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([namesCsv()], { type: "text/csv" }));
  link.download = "names.csv";
  link.click();
});
showNames();
"#;
