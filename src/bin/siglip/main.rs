//! `siglip`: quantize a Hugging Face SigLIP checkpoint, classify images, embed images and
//! texts, and benchmark, with the same core the browser runs.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(all(not(target_arch = "wasm32"), feature = "hub"))]
mod hub;
#[cfg(not(target_arch = "wasm32"))]
mod library;
#[cfg(not(target_arch = "wasm32"))]
mod load;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod cli {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::time::Instant;

    use clap::{Parser, Subcommand};
    use siglip::{format, weights::Weights, Classifier, Error, Result, Siglip, StorageDtype, TextMasking};

    use crate::load::{read, read_hf, resolve};

    #[derive(Parser)]
    #[command(name = "siglip", version, about = "SigLIP zero-shot image classification and embeddings")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(clap::Args)]
    pub(crate) struct ModelArgs {
        /// A Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json or
        /// spiece.model), a file made by `siglip quantize`, or a model on the Hugging Face Hub,
        /// owner/name[@revision] (downloaded once into the Hugging Face cache).
        #[arg(long, short)]
        pub(crate) model: PathBuf,
        /// How the text tower treats padding: `auto` (as the transformers pipeline does for
        /// this checkpoint: masked when its tokenizer returns an attention mask, attended to
        /// when its `model_input_names` leaves the mask out, as transformers' SigLIP and
        /// SigLIP 2 conversions save it), `padding` (masked) or `none`.
        #[arg(long, value_enum, default_value_t = Masking::Auto)]
        pub(crate) text_masking: Masking,
        /// Same as `--text-masking none`.
        #[arg(long, conflicts_with = "text_masking")]
        pub(crate) unmasked_text: bool,
        /// SigLIP 2 NaFlex: the most patches an image is cut into (default: the checkpoint's
        /// `max_num_patches`); the image keeps its aspect ratio within it. Other models ignore it.
        #[arg(long)]
        pub(crate) max_num_patches: Option<usize>,
    }

    #[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub(crate) enum Masking {
        Auto,
        Padding,
        None,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Convert a Hugging Face checkpoint folder into one self-contained .safetensors file.
        Quantize {
            /// Folder with config.json, model.safetensors, tokenizer.json or spiece.model
            /// (and optionally preprocessor_config.json), or a Hub model owner/name[@revision].
            hf_dir: PathBuf,
            /// How weight matrices are stored: q8, q4, f16 or f32.
            #[arg(long, default_value = "q8")]
            dtype: String,
            /// Output file.
            #[arg(long, short)]
            output: PathBuf,
        },
        /// Score labels for images (sigmoid per label, highest first).
        Classify {
            #[command(flatten)]
            model: ModelArgs,
            /// Image files (JPEG, PNG, WebP, GIF).
            #[arg(long, required = true, num_args = 1..)]
            image: Vec<PathBuf>,
            /// Labels to score.
            #[arg(long, required = true, num_args = 1..)]
            labels: Vec<String>,
            /// Text template; `{}` is replaced by the label.
            #[arg(long, default_value = siglip::classifier::DEFAULT_TEMPLATE)]
            template: String,
            /// Print JSON: one element per image, {"image", "grid": [rows, columns] of patches,
            /// "results": [{"label", "score", "logit"}]}.
            #[arg(long)]
            json: bool,
        },
        /// Print L2-normalized embeddings of images or texts.
        Embed {
            #[command(flatten)]
            model: ModelArgs,
            #[arg(long, num_args = 1.., conflicts_with = "text", required_unless_present = "text")]
            image: Vec<PathBuf>,
            /// Texts, used verbatim (no template).
            #[arg(long, num_args = 1..)]
            text: Vec<String>,
            #[arg(long)]
            json: bool,
        },
        /// Describe a model.
        Info {
            #[command(flatten)]
            model: ModelArgs,
        },
        /// Time loading, text and image embedding; print figures (and JSON with --json).
        Bench {
            #[command(flatten)]
            model: ModelArgs,
            /// Image to embed (a synthetic one if omitted).
            #[arg(long)]
            image: Option<PathBuf>,
            /// Timed image runs after the first.
            #[arg(long, default_value_t = 5)]
            runs: usize,
            /// Labels to embed.
            #[arg(long, default_value_t = 8)]
            labels: usize,
            /// Also time one image by kind of operation.
            #[arg(long)]
            profile: bool,
            /// Also time images embedded this many per call (fixed resolution): images/s.
            #[arg(long, value_delimiter = ',')]
            batch: Vec<usize>,
            #[arg(long)]
            json: bool,
        },
        /// Index images for search: every image under the folders (recursively) and files given,
        /// into one index file (docs/index-format.md). Incremental and resumable: images
        /// already in the index (same path, size and time, or same content) are not embedded
        /// again, and a run that is stopped loses at most the images in flight.
        Index {
            /// Folders (searched recursively) and image files.
            #[arg(required = true, num_args = 1..)]
            inputs: Vec<PathBuf>,
            /// The index file to create or update (`.index.safetensors`).
            #[arg(long, short)]
            output: PathBuf,
            /// The model (see classify). Optional when the index exists: then the model it
            /// records is used, and a different one is refused.
            #[arg(long, short)]
            model: Option<PathBuf>,
            /// How embeddings are stored: f16 (half the size) or f32.
            #[arg(long, default_value = "f16")]
            dtype: String,
            /// SigLIP 2 NaFlex: the patch budget per image (see classify).
            #[arg(long)]
            max_num_patches: Option<usize>,
            /// Also remove the records of images that are no longer under the folders given.
            #[arg(long)]
            prune: bool,
            /// Images embedded per call when that many are ready (fixed-resolution models).
            #[arg(long, default_value_t = crate::library::BATCH)]
            batch: usize,
            /// Print a JSON summary on stdout.
            #[arg(long)]
            json: bool,
        },
        /// Search an index by text, by image ("more like this"), or both: best matches first,
        /// scored as SigLIP scores (sigmoid of exp(logit_scale) * cosine + logit_bias).
        Search {
            /// The index file.
            index: PathBuf,
            /// Text to search for (used verbatim, no template).
            query: Option<String>,
            /// An image to search by (with a text, the two are combined).
            #[arg(long)]
            image: Option<PathBuf>,
            /// Results to print.
            #[arg(long, default_value_t = 10)]
            top: usize,
            /// The model; by default the one the index records. Another is refused unless it is
            /// the same model (the same checkpoint in another dtype).
            #[arg(long, short)]
            model: Option<PathBuf>,
            /// How the query's text padding is treated (see classify).
            #[arg(long, value_enum, default_value_t = Masking::Auto)]
            text_masking: Masking,
            /// Print JSON: [{"rank", "id", "name", "path", "score", "logit", "cosine"}].
            #[arg(long)]
            json: bool,
        },
        /// Time exact search (top 100) over random normalized rows, f32 and f16: ms per query.
        BenchSearch {
            /// Row counts to time.
            #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000, 1_000_000])]
            rows: Vec<usize>,
            /// Embedding width (768 for SigLIP base).
            #[arg(long, default_value_t = 768)]
            dim: usize,
            /// Minimum time per configuration, in seconds.
            #[arg(long, default_value_t = 1.0)]
            seconds: f64,
            #[arg(long)]
            json: bool,
        },
        /// Time the q8 matrix kernel (and candle's f32 product) at SigLIP-base shapes: GMAC/s.
        BenchKernels {
            /// Minimum time per shape, in seconds.
            #[arg(long, default_value_t = 1.0)]
            seconds: f64,
            #[arg(long)]
            json: bool,
        },
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        match run(cli.command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn load(args: &ModelArgs) -> Result<Siglip> {
        Ok(load_with_source(args)?.0)
    }

    /// The model `--model` names, set up as the flags say, and where it came from (an index
    /// records it: `hf:owner/name@commit`, or the file or folder's absolute path).
    pub(crate) fn load_with_source(args: &ModelArgs) -> Result<(Siglip, String)> {
        let (mut model, source) = crate::load::open(&args.model)?;
        match (args.text_masking, args.unmasked_text) {
            (_, true) | (Masking::None, _) => model.set_text_masking(TextMasking::None),
            (Masking::Padding, _) => model.set_text_masking(TextMasking::Padding),
            (Masking::Auto, _) => {}
        }
        if let Some(n) = args.max_num_patches {
            model.set_max_num_patches(n)?;
        }
        Ok((model, source))
    }

    /// Benchmark rows as JSON, or as a table (`line` for each) after the thread count.
    fn print_bench<T: serde::Serialize>(rows: &[T], as_json: bool, line: impl Fn(&T) -> String) -> Result<()> {
        if as_json {
            println!("{}", json(&rows)?);
        } else {
            println!("threads: {}", rayon::current_num_threads());
            for row in rows {
                println!("{}", line(row));
            }
        }
        Ok(())
    }

    fn json<T: serde::Serialize>(value: &T) -> Result<String> {
        serde_json::to_string_pretty(value).map_err(|e| Error::Input(format!("could not print JSON: {e}")))
    }

    fn run(command: Command) -> Result<()> {
        match command {
            Command::Quantize { hf_dir, dtype, output } => {
                let dtype = StorageDtype::parse(&dtype)?;
                let hf_dir = resolve(&hf_dir)?;
                let f = read_hf(&hf_dir)?;
                // Loading the model checks every tensor the packed file will need.
                let model = Siglip::from_hf(&f.config, f.preprocessor.as_deref(), f.tokenizer(), &f.weights)?;
                drop(model);
                let weights = Weights::parse(&f.weights)?;
                let bytes = format::pack(&weights, dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer())?;
                // Check the result loads before reporting success.
                Siglip::from_packed(&bytes)?;
                std::fs::write(&output, &bytes).map_err(|e| Error::io(&output, e))?;
                eprintln!(
                    "wrote {} ({:.1} MB, {}) from {} ({:.1} MB)",
                    output.display(),
                    bytes.len() as f64 / 1e6,
                    dtype.name(),
                    hf_dir.display(),
                    f.weights.len() as f64 / 1e6
                );
                Ok(())
            }
            Command::Classify { model, image, labels, template, json: as_json } => {
                let mut classifier = Classifier::new(load(&model)?);
                classifier.set_template(&template)?;
                let mut all = Vec::new();
                for path in &image {
                    let decoded = siglip::preprocess::decode(&read(path)?).map_err(|e| with_path(e, path))?;
                    let (embedding, grid) =
                        classifier.siglip().embed_image_grid(&decoded).map_err(|e| with_path(e, path))?;
                    let results = classifier.classify_embedding(&embedding, &labels)?;
                    let entry = serde_json::json!({ "image": path.display().to_string(), "grid": [grid.0, grid.1], "results": results });
                    all.push(entry);
                    if !as_json {
                        println!("{} ({} x {} patches)", path.display(), grid.0, grid.1);
                        for r in &results {
                            println!("  {:>8.4}%  {:>9.4}  {}", r.score * 100.0, r.logit, r.label);
                        }
                    }
                }
                if as_json {
                    println!("{}", json(&all)?);
                }
                Ok(())
            }
            Command::Embed { model, image, text, json: as_json } => {
                let siglip = load(&model)?;
                let mut rows: Vec<(String, &str, Vec<f32>)> = Vec::new();
                for path in &image {
                    let e = siglip.embed_image_bytes(&read(path)?).map_err(|e| with_path(e, path))?;
                    rows.push((path.display().to_string(), "image", e));
                }
                if !text.is_empty() {
                    for t in &text {
                        siglip::classifier::check_label(t)?;
                    }
                    for (t, e) in text.iter().zip(siglip.embed_texts(&text)?) {
                        rows.push((t.clone(), "text", e));
                    }
                }
                if as_json {
                    let v: Vec<_> =
                        rows.iter().map(|(k, kind, e)| serde_json::json!({ *kind: k, "embedding": e })).collect();
                    println!("{}", json(&v)?);
                } else {
                    for (k, _, e) in rows {
                        let values: Vec<String> = e.iter().map(|v| format!("{v:.6}")).collect();
                        println!("{k}\t{}", values.join(" "));
                    }
                }
                Ok(())
            }
            Command::BenchSearch { rows, dim, seconds, json: as_json } => {
                let timings = siglip::index::bench(&now_ms, &rows, dim, seconds * 1e3);
                print_bench(&timings, as_json, |t| {
                    format!(
                        "{:>9} rows x {} {}  {:>9.2} ms/query  {:>7.1} M rows/s  {:>8.1} MB",
                        t.rows, t.dim, t.dtype, t.ms_per_query, t.mrows_per_second, t.mb
                    )
                })
            }
            Command::BenchKernels { seconds, json: as_json } => {
                let rows = siglip::kernels::bench::run(&now_ms, seconds * 1e3)?;
                print_bench(&rows, as_json, |r| {
                    format!(
                        "{:>18}  {:>3} x {:>4} x {:>4}  {:>8.2} ms  {:>6.1} GMAC/s",
                        r.kernel, r.m, r.k, r.n, r.ms_per_call, r.gmacs
                    )
                })
            }
            Command::Index { inputs, output, model, dtype, max_num_patches, prune, batch, json: as_json } => {
                let model = model.map(|m| ModelArgs {
                    model: m,
                    text_masking: Masking::Auto,
                    unmasked_text: false,
                    max_num_patches,
                });
                let options = crate::library::IndexOptions {
                    dtype: siglip::index::RowDtype::parse(&dtype)?,
                    batch,
                    max_num_patches,
                    prune,
                };
                let summary = crate::library::index(&inputs, &output, model.as_ref(), options)?;
                if as_json {
                    println!("{}", json(&summary)?);
                }
                Ok(())
            }
            Command::Search { index, query, image, top, model, text_masking, json: as_json } => {
                let model =
                    model.map(|m| ModelArgs { model: m, text_masking, unmasked_text: false, max_num_patches: None });
                let hits = crate::library::search(
                    &index,
                    query.as_deref(),
                    image.as_deref(),
                    top,
                    model.as_ref(),
                    text_masking,
                )?;
                if as_json {
                    println!("{}", json(&hits)?);
                } else {
                    for h in &hits {
                        println!(
                            "{:>4}  {:>8.4}%  {:>9.4}  {:>7.4}  {}",
                            h.rank,
                            h.score * 100.0,
                            h.logit,
                            h.cosine,
                            h.path
                        );
                    }
                }
                Ok(())
            }
            Command::Info { model } => {
                let siglip = load(&model)?;
                println!("{}", json(&siglip.info())?);
                Ok(())
            }
            Command::Bench { model, image, runs, labels, profile, batch, json: as_json } => {
                bench(&model, image.as_deref(), runs, labels, profile, &batch, as_json)
            }
        }
    }

    fn with_path(e: Error, path: &Path) -> Error {
        match e {
            Error::Image(m) => Error::Image(format!("{}: {m}", path.display())),
            other => other,
        }
    }

    /// Peak resident memory of this process in bytes (Linux), if known.
    fn peak_rss() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            f64::NAN
        } else {
            v[v.len() / 2]
        }
    }

    /// Milliseconds since the first call (the profile's and the kernel benchmark's clock).
    fn now_ms() -> f64 {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
    }

    /// One image's time by kind of operation: `[{op, ms, calls}]`, the rest as "other".
    fn profile_image(siglip: &Siglip, rgb: &siglip::preprocess::Rgb8) -> Result<Vec<serde_json::Value>> {
        use siglip::profile;
        profile::start(now_ms);
        let t0 = now_ms();
        let result = if siglip.max_num_patches().is_some() {
            // NaFlex: resized to the image's own grid and cut into patches.
            profile::scope("preprocess (resize, normalize, patches)", || siglip.patches(rgb))
                .and_then(|patches| siglip.embed_patches(&patches))
        } else {
            let pixels = profile::scope("preprocess (resize, normalize)", || siglip.pixel_values(rgb));
            siglip.embed_pixels(&pixels)
        };
        let total = now_ms() - t0;
        let rows = profile::take();
        profile::stop();
        result?;
        let other = total - rows.iter().map(|r| r.1).sum::<f64>();
        let mut out: Vec<_> =
            rows.into_iter().map(|(op, ms, calls)| serde_json::json!({"op": op, "ms": ms, "calls": calls})).collect();
        out.push(serde_json::json!({"op": "other (embeddings, residuals, copies)", "ms": other, "calls": 1}));
        out.push(serde_json::json!({"op": "total", "ms": total, "calls": 1}));
        Ok(out)
    }

    /// Images embedded `batch` per call (`siglip bench --batch`).
    #[derive(serde::Serialize)]
    struct BatchTiming {
        batch: usize,
        image_s: f64,
        images_per_second: f64,
    }

    fn bench(
        args: &ModelArgs,
        image: Option<&Path>,
        runs: usize,
        n_labels: usize,
        with_profile: bool,
        batches: &[usize],
        as_json: bool,
    ) -> Result<()> {
        let t0 = Instant::now();
        let siglip = load(args)?;
        let load_s = t0.elapsed().as_secs_f64();
        let info = siglip.info();
        let rgb = match image {
            Some(p) => siglip::preprocess::decode(&read(p)?)?,
            None => {
                let (w, h) = (640usize, 480usize);
                let data = (0..w * h * 3).map(|i| ((i * 31 + i / 977) % 251) as u8).collect();
                siglip::preprocess::Rgb8::new(w, h, data)?
            }
        };
        let t = Instant::now();
        siglip.embed_image(&rgb)?;
        let first_image = t.elapsed().as_secs_f64();
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            siglip.embed_image(&rgb)?;
            times.push(t.elapsed().as_secs_f64());
        }
        let words =
            ["cat", "dog", "car", "tree", "red house", "two birds on a wire", "a bowl of soup", "mountain lake"];
        let texts: Vec<String> =
            (0..n_labels.max(1)).map(|i| format!("This is a photo of {} {i}.", words[i % words.len()])).collect();
        let t = Instant::now();
        siglip.embed_texts(&texts)?;
        let per_label = t.elapsed().as_secs_f64() / texts.len() as f64;
        let profile = if with_profile { Some(profile_image(&siglip, &rgb)?) } else { None };
        // Images per second at each batch size: `runs` calls each (after one untimed).
        let mut batched: Vec<BatchTiming> = Vec::new();
        if !batches.is_empty() && siglip.max_num_patches().is_none() {
            let pixels = siglip.pixel_values(&rgb);
            for &b in batches.iter().filter(|b| **b > 0) {
                let images: Vec<&[f32]> = vec![pixels.as_slice(); b];
                siglip.embed_pixels_batch(&images)?;
                let t = Instant::now();
                for _ in 0..runs.max(1) {
                    siglip.embed_pixels_batch(&images)?;
                }
                let per_image = t.elapsed().as_secs_f64() / (runs.max(1) * b) as f64;
                batched.push(BatchTiming { batch: b, image_s: per_image, images_per_second: 1.0 / per_image });
            }
        }
        let report = serde_json::json!({
            "profile": profile,
            "batches": batched,
            "model": args.model.display().to_string(),
            "dtype": info.dtype,
            "text_masking": format!("{:?}", siglip.text_masking()),
            "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "weight_mb": info.weight_bytes as f64 / 1e6,
            "load_s": load_s,
            "image_first_s": first_image,
            "image_median_s": median(times.clone()),
            "image_runs": times,
            "text_per_label_s": per_label,
            "labels": texts.len(),
            "peak_rss_mb": peak_rss().map(|b| b as f64 / 1e6),
        });
        if as_json {
            println!("{}", json(&report)?);
        } else {
            println!("model            {} ({})", args.model.display(), info.dtype);
            println!("weights in RAM   {:.1} MB", info.weight_bytes as f64 / 1e6);
            println!("load             {:.3} s", load_s);
            println!("image, first     {:.3} s", first_image);
            println!("image, median    {:.3} s  ({} runs)", median(times), runs);
            println!("text, per label  {:.4} s  ({} labels)", per_label, texts.len());
            if let Some(rss) = peak_rss() {
                println!("peak RSS         {:.1} MB", rss as f64 / 1e6);
            }
            for row in &batched {
                println!(
                    "batch of {:>2}      {:.3} s per image  ({:.2} images/s)",
                    row.batch, row.image_s, row.images_per_second
                );
            }
            for row in profile.iter().flatten() {
                println!(
                    "  {:>40}  {:>8.1} ms  {:>5} calls",
                    row["op"].as_str().unwrap_or(""),
                    row["ms"].as_f64().unwrap_or(0.0),
                    row["calls"]
                );
            }
        }
        Ok(())
    }
}
