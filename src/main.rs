use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

use cli::{assign, bench, cluster, encode, export, info, run, train};

/// Train an MNIST autoencoder and cluster its codes, in WGSL compute shaders.
/// With no command, runs the whole pipeline (`aeclust run`) with its defaults.
#[derive(Parser)]
#[command(version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

const EXAMPLES: &str = "Examples:
  aeclust                                        train, encode, cluster, pictures into out/
  aeclust run --out results --epochs 5 --pixels  the same, with codes and pixels side by side
  aeclust run --recipe deep --embed umap         a deeper model, its codes embedded by UMAP
  aeclust train --epochs 1 --limit 5000          a quick run
  aeclust train --backend cpu                    the CPU reference trainer
  aeclust train --model-out model.safetensors    then:
  aeclust encode --model model.safetensors --out codes.npy
  aeclust cluster --codes codes.npy --k 10 --report clusters.json
  aeclust train --epochs 20 --checkpoint-every 1 --model-out m.safetensors
  aeclust train --model m.safetensors --epochs 5 --model-out m2.safetensors  (continue)
  aeclust bench --batch 32,256 --json bench.json GPU vs CPU reference throughput
  aeclust info                                   the adapters wgpu sees";

#[derive(Subcommand)]
enum Command {
    /// The whole pipeline: train, encode the test set, cluster the codes, draw the clusters.
    Run(run::RunArgs),
    /// Train the autoencoder and print one line per epoch.
    Train(train::TrainArgs),
    /// Encode images to their codes with a trained model.
    Encode(encode::EncodeArgs),
    /// Cluster codes (or a model's codes of the images) with k-means, and score the clusters.
    Cluster(cluster::ClusterArgs),
    /// Place new images (or codes) in a saved clustering: each one's cluster and distance.
    Assign(assign::AssignArgs),
    /// The clusters as folders and names.csv; with --names, the labels (labels.csv, and an
    /// ImageFolder tree on request).
    Export(export::ExportArgs),
    /// Time the same training steps on the GPU and on the CPU reference.
    Bench(bench::BenchArgs),
    /// List every adapter wgpu sees, and the one that would be used.
    Info,
}

fn main() -> ExitCode {
    // Output into a closed pipe (`aeclust info | head -1`) ends the process quietly, as it
    // does other command-line tools, instead of a panic in println!.
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal at start-up, before any thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Mesa's Vulkan drivers print a spurious "error: XDG_RUNTIME_DIR is invalid" line when it
    // is unset (as in containers and CI); none of them needs it for compute.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return flag_error(e),
    };
    // The main thread joins the global pool as its first worker: the CPU paths' parallel
    // loops then fork and join inside the pool, instead of handing each loop to the pool and
    // sleeping until a worker wakes it (thousands of times in a UMAP layout or an epoch).
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
    {
        eprintln!("error: cannot start the worker threads: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = cli::interrupt::install() {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let result = match &cli.command {
        None => run::run(&run::RunArgs::default_args()),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Train(args)) => train::train(args),
        Some(Command::Encode(args)) => encode::encode(args),
        Some(Command::Cluster(args)) => cluster::cluster(args),
        Some(Command::Assign(args)) => assign::assign(args),
        Some(Command::Export(args)) => export::export(args),
        Some(Command::Bench(args)) => bench::bench(args),
        Some(Command::Info) => info::info(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// `text` on one line: line breaks and other control characters (from a decoder's message or
/// a file's name) written as escapes.
fn one_line(text: &str) -> String {
    text.trim_end()
        .chars()
        .flat_map(|c| match c {
            '\n' => vec!['\\', 'n'],
            '\r' => vec!['\\', 'r'],
            '\t' => vec!['\\', 't'],
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// Help and version as clap prints them; a flag error as one line, like every other error.
fn flag_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
        _ => {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: bad flags");
            eprintln!(
                "{} (aeclust help <command> lists the flags)",
                one_line(first)
            );
            ExitCode::from(2)
        }
    }
}

/// Every `aeclust ...` and `cargo run --release ...` command line that README.md and docs/
/// show parses with today's flags (clap's parser; nothing runs), so that a renamed flag
/// breaks the build, not the reader.
#[cfg(test)]
mod documented_commands {
    use super::Cli;
    use clap::Parser;

    /// The code of a Markdown text: fenced blocks line by line (a trailing `\` joins the
    /// next line), and inline `code` spans.
    fn code(text: &str) -> Vec<String> {
        let mut pieces = Vec::new();
        let mut fenced = false;
        let mut pending = String::new();
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if fenced {
                pending += line.trim_end_matches('\\');
                if !line.ends_with('\\') {
                    pieces.push(std::mem::take(&mut pending));
                }
            } else {
                pieces.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
            }
        }
        pieces
    }

    /// The command lines in a piece of code, as the words a shell would pass.
    fn commands(piece: &str) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        for part in piece
            .split(['#', ';', '|', '>', ')'])
            .flat_map(|p| p.split("&&"))
        {
            let words = shell_words(part);
            let Some(start) = words.iter().position(|w| w == "aeclust" || w == "cargo") else {
                continue;
            };
            let words = &words[start..];
            if words[0] == "aeclust" {
                found.push(words.to_vec());
            } else if words.get(1).map(String::as_str) == Some("run") {
                if words.iter().any(|w| w == "--example") {
                    continue;
                }
                let after = words
                    .iter()
                    .position(|w| w == "--")
                    .map_or(words.len(), |i| i + 1);
                let mut command = vec!["aeclust".to_string()];
                command.extend_from_slice(&words[after..]);
                found.push(command);
            }
        }
        found
    }

    fn shell_words(text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote = None;
        let mut any = false;
        for c in text.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    any = true;
                }
                (None, c) if c.is_whitespace() => {
                    if any || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    any = false;
                }
                (None, c) => word.push(c),
            }
        }
        if any || !word.is_empty() {
            words.push(word);
        }
        words
    }

    #[test]
    fn every_command_in_the_readme_and_docs_parses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![root.join("README.md")];
        for entry in std::fs::read_dir(root.join("docs")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
        let mut checked = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for piece in code(&text) {
                for command in commands(&piece) {
                    // Placeholders such as <command> are not commands.
                    if command.iter().any(|w| w.contains('<') || w.contains("...")) {
                        continue;
                    }
                    if let Err(e) = Cli::try_parse_from(&command) {
                        use clap::error::ErrorKind;
                        let kind = e.kind();
                        // A command named in prose (`aeclust assign`) need not be complete.
                        let named =
                            command.len() <= 2 && kind == ErrorKind::MissingRequiredArgument;
                        assert!(
                            named
                                || kind == ErrorKind::DisplayHelp
                                || kind == ErrorKind::DisplayVersion,
                            "{}: `{}` does not parse: {}",
                            file.display(),
                            command.join(" "),
                            e.render()
                        );
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked >= 15, "only {checked} commands found");
    }

    #[test]
    fn commands_are_found_as_a_shell_reads_them() {
        let text = "```sh\n# x\napt-get install y && cargo run --release\naeclust run \\\n  --k 3\n```\nsee `aeclust help` and `cargo run --release -- train --epochs 1` here\n";
        let found: Vec<Vec<String>> = code(text).iter().flat_map(|p| commands(p)).collect();
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            found,
            [
                words("aeclust"),
                words("aeclust run --k 3"),
                words("aeclust help"),
                words("aeclust train --epochs 1")
            ]
        );
    }
}
