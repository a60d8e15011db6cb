//! `siglip index` and `siglip search`: a photo library indexed into one index file (the
//! format `siglip::index` reads and writes, the one the browser exports and imports), and
//! searched by text, by image or both.
//!
//! Indexing is incremental (an image already in the index, by path, size and modification
//! time or by content, is not embedded again) and resumable: each embedded image is appended
//! at once to a journal beside the index (`<index>.journal`), which is folded into the index
//! every few hundred images and at the end, so a run that is killed loses at most the images
//! in flight; the next run replays the journal. Images are read, hashed and decoded on two
//! threads while the model embeds them ([`BATCH`] per call).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;
use std::time::{Instant, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use siglip::index::{combine_query, Index, ModelIdentity, Record, RowDtype};
use siglip::{base64, preprocess, Error, Result, Siglip};

use crate::cli::{load_with_source, Masking, ModelArgs};
use crate::load::{read, spec_of};

/// File extensions taken for images (anything else is counted and skipped).
const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "webp", "gif"];
/// The journal is folded into the index after this many new images (and at the end).
const COMPACT_EVERY: usize = 256;
/// ... or after this long.
const COMPACT_SECONDS: f64 = 60.0;
/// Threads that read, hash and decode images while the model runs.
const DECODERS: usize = 2;
/// Images embedded per call when that many are ready (`--batch`). Batching packs the weights
/// once per layer for all of them, but the activations of four images (788 rows) no longer fit
/// in the caches the way one image's 197 rows do: on this 2-core Xeon, SigLIP base q8, it was
/// slower in alternating runs (`siglip bench --batch 1,4`: 4.4-4.5 vs 3.6-3.7 images/s; `siglip
/// index` over 200 photos: 4.0-4.3 vs 3.5-3.6), so one image per call by default.
pub(crate) const BATCH: usize = 1;

pub(crate) struct IndexOptions {
    pub dtype: RowDtype,
    /// Images per call (at most; [`BATCH`] by default).
    pub batch: usize,
    pub max_num_patches: Option<usize>,
    pub prune: bool,
}

/// What a run of `siglip index` did.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub index: String,
    /// Images in the index now.
    pub images: usize,
    /// Images embedded by this run.
    pub embedded: usize,
    /// Images found unchanged (same path, size and modification time).
    pub unchanged: usize,
    /// Images whose content was already indexed under another path (not embedded again).
    pub duplicates: usize,
    /// Images embedded in an earlier, interrupted run and recovered from its journal.
    pub recovered: usize,
    /// Records removed (`--prune`, or a changed file's old record).
    pub removed: usize,
    /// Files skipped because they are not images (by extension).
    pub not_images: usize,
    /// Image files that could not be read or decoded, with why.
    pub unreadable: Vec<Unreadable>,
    pub seconds: f64,
    /// Images embedded per second of this run.
    pub images_per_second: f64,
    /// Size of the index file.
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Unreadable {
    pub path: String,
    pub error: String,
}

/// One file found under the inputs.
#[derive(Clone)]
struct Found {
    file: PathBuf,
    /// The record's path: `<folder name>/<path inside it>` for a folder given, else the path given.
    path: String,
    name: String,
    size: u64,
    mtime_ms: Option<f64>,
}

/// What a decoder thread hands the model.
enum Prepared {
    /// Ready to embed: the record (without grid) and the model's input.
    Image(Box<Record>, Input),
    /// Content already in the index under this id.
    Known(Found, String),
    Unreadable(Found, String),
}

enum Input {
    Pixels(Vec<f32>),
    Patches(preprocess::Patches),
}

/// The journal's lines: a header with the model's identity, then one line per embedded image.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum JournalLine {
    Header { identity: ModelIdentity, dtype: RowDtype },
    Image { record: Record, embedding: String },
}

pub(crate) fn index(
    inputs: &[PathBuf],
    output: &Path,
    model: Option<&ModelArgs>,
    options: IndexOptions,
) -> Result<Summary> {
    let started = Instant::now();
    let journal_path = journal_path(output);
    let existing = match output.exists() {
        true => Some(Index::from_bytes(&read(output)?).map_err(|e| in_file(e, output))?),
        false => None,
    };
    let (siglip, source) = match (model, &existing) {
        (Some(args), _) => load_with_source(args)?,
        (None, Some(index)) => {
            let source = index.identity.source.clone().ok_or_else(|| {
                Error::Input(format!("{} does not say which model made it: give --model", output.display()))
            })?;
            let args = ModelArgs {
                model: spec_of(&source),
                text_masking: Masking::Auto,
                unmasked_text: false,
                max_num_patches: options.max_num_patches.or(index.identity.max_num_patches),
            };
            load_with_source(&args)?
        }
        (None, None) => return Err(Error::Input("a new index needs a model: give --model".into())),
    };
    let identity = siglip.identity(Some(source));
    let mut index = match existing {
        Some(index) => {
            identity.check_same_model(&index.identity)?;
            if identity.max_num_patches != index.identity.max_num_patches {
                return Err(Error::Input(format!(
                    "the index holds images embedded with max_num_patches {:?}, not {:?}: one index, one patch budget",
                    index.identity.max_num_patches, identity.max_num_patches
                )));
            }
            index
        }
        None => Index::new(identity.clone(), options.dtype),
    };
    let recovered = replay_journal(&journal_path, &mut index)?;

    // What is there, and what of it is new.
    let mut found = Vec::new();
    let mut not_images = 0;
    let mut roots = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let root = input.file_name().map_or_else(|| ".".to_string(), |n| n.to_string_lossy().into_owned());
            walk(input, &root, &mut found, &mut not_images)?;
            roots.push(root);
        } else {
            let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
            match is_image(input) {
                true => found.push(found_file(input, input.display().to_string(), &meta)),
                false => not_images += 1,
            }
        }
    }
    let by_path: ByPath =
        index.records().iter().filter_map(|r| Some((r.path.clone()?, (r.id.clone(), r.size, r.mtime_ms)))).collect();
    let mut unchanged = 0;
    let mut pending = VecDeque::new();
    for f in &found {
        match by_path.get(&f.path) {
            Some((_, size, mtime)) if *size == f.size && same_time(*mtime, f.mtime_ms) => unchanged += 1,
            _ => pending.push_back(f.clone()),
        }
    }

    let mut summary = Summary {
        index: output.display().to_string(),
        images: 0,
        embedded: 0,
        unchanged,
        duplicates: 0,
        recovered,
        removed: 0,
        not_images,
        unreadable: Vec::new(),
        seconds: 0.0,
        images_per_second: 0.0,
        bytes: 0,
    };
    let mut journal = Journal::open(&journal_path, &index)?;
    let total = pending.len();
    let progress = Progress::new(total);
    let known: HashMap<String, String> = index.records().iter().map(|r| (r.sha256.clone(), r.id.clone())).collect();
    let queue = Mutex::new(pending);
    let mut last_compact = Instant::now();
    let mut since_compact = 0;
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = sync_channel::<Prepared>(options.batch.max(1) * 2);
        for _ in 0..DECODERS {
            let (tx, queue, siglip, known) = (tx.clone(), &queue, &siglip, &known);
            scope.spawn(move || {
                while let Some(f) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    if tx.send(prepare(siglip, f, known)).is_err() {
                        break; // the model side stopped (an error)
                    }
                }
            });
        }
        drop(tx);
        let mut done = 0;
        while let Some(group) = next_group(&rx, options.batch) {
            let pixels: Vec<&[f32]> = group
                .iter()
                .filter_map(|item| match item {
                    Prepared::Image(_, Input::Pixels(p)) => Some(p.as_slice()),
                    _ => None,
                })
                .collect();
            let mut batch = siglip.embed_pixels_batch(&pixels)?.into_iter();
            for item in group {
                done += 1;
                match item {
                    Prepared::Unreadable(f, error) => summary.unreadable.push(Unreadable { path: f.path, error }),
                    Prepared::Known(f, id) => {
                        summary.duplicates += 1;
                        // The file changed into content indexed under another path: its old record goes.
                        summary.removed += remove_replaced(&mut index, &by_path, &f.path, &id);
                        // A file moved or renamed within the folders scanned: its record follows
                        // it (a copy, whose first path is still there, is only counted).
                        let old = index.get(&id).and_then(|(_, r)| r.path.clone());
                        let moved = old.is_some_and(|old| under(&old, &roots) && !found.iter().any(|g| g.path == old));
                        if let (true, Some((row, _))) = (moved, index.get(&id)) {
                            let mut record = index.records()[row].clone();
                            (record.name, record.path, record.size, record.mtime_ms) =
                                (f.name, Some(f.path), f.size, f.mtime_ms);
                            let embedding = index.embedding(&id).unwrap_or_default();
                            index.insert(record.clone(), &embedding, None)?;
                            journal.append(&record, &embedding)?;
                        }
                    }
                    Prepared::Image(record, input) => {
                        let (embedding, grid) = match input {
                            Input::Pixels(_) => {
                                let embedding = batch
                                    .next()
                                    .ok_or_else(|| Error::Input("internal: a batch came back short".into()))?;
                                (embedding, (siglip.config().vision.grid(), siglip.config().vision.grid()))
                            }
                            Input::Patches(p) => (siglip.embed_patches(&p)?, (p.rows, p.cols)),
                        };
                        let mut record = *record;
                        record.grid = [grid.0, grid.1];
                        // A changed file: its old record goes.
                        if let Some(path) = &record.path {
                            summary.removed += remove_replaced(&mut index, &by_path, path, &record.id);
                        }
                        if index.get(&record.id).is_some() {
                            summary.duplicates += 1; // the same content twice in this run
                        } else {
                            index.insert(record.clone(), &embedding, None)?;
                            journal.append(&record, &embedding)?;
                            summary.embedded += 1;
                            since_compact += 1;
                        }
                    }
                }
                progress.show(done, summary.embedded, started);
                if since_compact >= COMPACT_EVERY
                    || (since_compact > 0 && last_compact.elapsed().as_secs_f64() > COMPACT_SECONDS)
                {
                    write_index(&index, output, options.dtype)?;
                    journal = Journal::create(&journal_path, &index)?;
                    (since_compact, last_compact) = (0, Instant::now());
                }
            }
        }
        progress.finish();
        Ok(())
    })?;

    if options.prune {
        let here: HashSet<&str> = found.iter().map(|f| f.path.as_str()).collect();
        let gone: Vec<String> = index
            .records()
            .iter()
            .filter(|r| r.path.as_deref().is_some_and(|p| under(p, &roots) && !here.contains(p)))
            .map(|r| r.id.clone())
            .collect();
        summary.removed += index.remove(&gone);
    }
    summary.bytes = write_index(&index, output, options.dtype)?;
    std::fs::remove_file(&journal_path).map_err(|e| Error::io(&journal_path, e))?;
    summary.images = index.len();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.images_per_second = summary.embedded as f64 / summary.seconds.max(1e-9);
    report(&summary);
    Ok(summary)
}

/// Reads, hashes and decodes one file, and prepares the model's input (on a decoder thread).
/// The next files prepared: the first to come, then up to `batch` in all of those ready now
/// (embedded in one call, fixed resolution); `None` once the decoders are done.
fn next_group(rx: &Receiver<Prepared>, batch: usize) -> Option<Vec<Prepared>> {
    let mut group = vec![rx.recv().ok()?];
    while group.len() < batch.max(1) {
        match rx.try_recv() {
            Ok(item) => group.push(item),
            Err(_) => break,
        }
    }
    Some(group)
}

/// The index's records by path, as the run found them: `(id, size, mtime_ms)`.
type ByPath = HashMap<String, (String, u64, Option<f64>)>;

/// Whether an index path lies under one of the folders scanned (`roots`, by their names).
fn under(path: &str, roots: &[String]) -> bool {
    roots.iter().any(|root| path.starts_with(&format!("{root}/")))
}

/// The record `path` had, when it is not `id` (the file changed): removed; how many went.
fn remove_replaced(index: &mut Index, by_path: &ByPath, path: &str, id: &str) -> usize {
    match by_path.get(path) {
        Some((old, _, _)) if old != id => index.remove(std::slice::from_ref(old)),
        _ => 0,
    }
}

fn prepare(siglip: &Siglip, f: Found, known: &HashMap<String, String>) -> Prepared {
    let bytes = match std::fs::read(&f.file) {
        Ok(b) => b,
        Err(e) => return Prepared::Unreadable(f, e.to_string()),
    };
    let sha256 = siglip::siglip::hex(&Sha256::digest(&bytes));
    if let Some(id) = known.get(&sha256) {
        return Prepared::Known(f, id.clone());
    }
    let image = match preprocess::decode(&bytes) {
        Ok(image) => image,
        Err(e) => return Prepared::Unreadable(f, e.to_string()),
    };
    let input = match siglip.max_num_patches() {
        Some(_) => match siglip.patches(&image) {
            Ok(p) => Input::Patches(p),
            Err(e) => return Prepared::Unreadable(f, e.to_string()),
        },
        None => Input::Pixels(siglip.pixel_values(&image)),
    };
    let record = Record {
        id: Record::id_of(&sha256),
        name: f.name,
        path: Some(f.path),
        size: f.size,
        mtime_ms: f.mtime_ms,
        sha256,
        grid: [0, 0],
        thumbnail: None,
        extra: Default::default(),
    };
    Prepared::Image(Box::new(record), input)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn found_file(file: &Path, path: String, meta: &std::fs::Metadata) -> Found {
    let mtime_ms =
        meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| (d.as_millis() as f64).floor());
    let name = file.file_name().map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
    Found { file: file.to_path_buf(), path, name, size: meta.len(), mtime_ms }
}

fn same_time(a: Option<f64>, b: Option<f64>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if (a - b).abs() < 1.0)
}

/// Every file under `dir` (hidden entries skipped), in name order; images into `found`.
fn walk(dir: &Path, rel: &str, found: &mut Vec<Found>, not_images: &mut usize) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = format!("{rel}/{}", entry.file_name().to_string_lossy());
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, &rel, found, not_images)?;
        } else if is_image(&path) {
            found.push(found_file(&path, rel, &meta));
        } else {
            *not_images += 1;
        }
    }
    Ok(())
}

fn journal_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_os_string();
    name.push(".journal");
    PathBuf::from(name)
}

/// Writes the index atomically (a temporary file renamed over it); returns its size.
fn write_index(index: &Index, output: &Path, dtype: RowDtype) -> Result<u64> {
    let bytes = index.to_bytes(dtype)?;
    let mut tmp = output.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, output).map_err(|e| Error::io(output, e))?;
    Ok(bytes.len() as u64)
}

/// The append-only journal of images embedded since the index was last written.
struct Journal {
    file: std::fs::File,
    path: PathBuf,
}

impl Journal {
    /// Opens the journal to append (writing its header when it is new).
    fn open(path: &Path, index: &Index) -> Result<Self> {
        if !path.exists() {
            return Self::create(path, index);
        }
        let file = std::fs::OpenOptions::new().append(true).open(path).map_err(|e| Error::io(path, e))?;
        Ok(Journal { file, path: path.to_path_buf() })
    }

    /// A fresh journal (after the index was written).
    fn create(path: &Path, index: &Index) -> Result<Self> {
        let mut file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let header = JournalLine::Header { identity: index.identity.clone(), dtype: index.rows().dtype() };
        writeln!(file, "{}", to_json(&header)?).map_err(|e| Error::io(path, e))?;
        Ok(Journal { file, path: path.to_path_buf() })
    }

    fn append(&mut self, record: &Record, embedding: &[f32]) -> Result<()> {
        let bytes: Vec<u8> = embedding.iter().flat_map(|v| v.to_le_bytes()).collect();
        let line = JournalLine::Image { record: record.clone(), embedding: base64::encode(&bytes) };
        // One write per line, so a killed process leaves whole lines (a torn last one is ignored).
        let text = format!("{}\n", to_json(&line)?);
        self.file.write_all(text.as_bytes()).map_err(|e| Error::io(&self.path, e))
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Input(format!("could not write JSON: {e}")))
}

/// Adds what an interrupted run's journal holds to `index`; returns how many images it added.
fn replay_journal(path: &Path, index: &mut Index) -> Result<usize> {
    let Ok(file) = std::fs::File::open(path) else { return Ok(0) };
    let mut added = 0;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<JournalLine>(&line) {
            Ok(JournalLine::Header { identity, .. }) if n == 0 => {
                index.identity.check_same_model(&identity).map_err(|e| in_file(e, path))?;
            }
            Ok(JournalLine::Image { record, embedding }) if n > 0 => {
                let bytes = base64::decode(&embedding).unwrap_or_default();
                let values: Vec<f32> =
                    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                if index.insert(record, &values, None).is_ok() {
                    added += 1;
                }
            }
            // A torn last line (the run was killed while writing it), or garbage: stop there.
            _ => break,
        }
    }
    Ok(added)
}

fn in_file(e: Error, path: &Path) -> Error {
    match e {
        Error::Index(m) => Error::Index(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// `done / total, images/s, ETA` on stderr when it is a terminal.
struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress { total, on: std::io::stderr().is_terminal() && total > 0 }
    }

    fn show(&self, done: usize, embedded: usize, started: Instant) {
        if !self.on {
            return;
        }
        let rate = embedded as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let eta = if rate > 0.0 { duration((self.total - done) as f64 / rate) } else { "?".into() };
        eprint!("\r\x1b[2K{done}/{} images, {rate:.2} images/s, {eta} left", self.total);
    }

    fn finish(&self) {
        if self.on {
            eprintln!();
        }
    }
}

fn duration(s: f64) -> String {
    let s = s.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn report(s: &Summary) {
    eprintln!(
        "{}: {} images ({} embedded, {} unchanged, {} already indexed{}{}); {:.1} s, {:.2} images/s",
        s.index,
        s.images,
        s.embedded,
        s.unchanged,
        s.duplicates,
        if s.recovered > 0 { format!(", {} recovered from an interrupted run", s.recovered) } else { String::new() },
        if s.removed > 0 { format!(", {} removed", s.removed) } else { String::new() },
        s.seconds,
        s.images_per_second
    );
    if s.not_images > 0 {
        eprintln!("  skipped {} files that are not images", s.not_images);
    }
    for u in &s.unreadable {
        eprintln!("  could not read {}: {}", u.path, u.error);
    }
}

/// One search result, as printed.
#[derive(Debug, Serialize)]
pub(crate) struct SearchHit {
    pub rank: usize,
    pub id: String,
    pub name: String,
    pub path: String,
    pub score: f32,
    pub logit: f32,
    pub cosine: f32,
}

pub(crate) fn search(
    index_path: &Path,
    query: Option<&str>,
    image: Option<&Path>,
    top: usize,
    model: Option<&ModelArgs>,
    masking: Masking,
) -> Result<Vec<SearchHit>> {
    if query.is_none() && image.is_none() {
        return Err(Error::Input("give a text query, --image FILE, or both".into()));
    }
    let index = Index::from_bytes(&read(index_path)?).map_err(|e| in_file(e, index_path))?;
    let args = match model {
        Some(args) => {
            ModelArgs { model: args.model.clone(), text_masking: masking, unmasked_text: false, max_num_patches: None }
        }
        None => ModelArgs {
            model: spec_of(index.identity.source.as_deref().ok_or_else(|| {
                Error::Input(format!("{} does not say which model made it: give --model", index_path.display()))
            })?),
            text_masking: masking,
            unmasked_text: false,
            max_num_patches: None,
        },
    };
    let (mut siglip, _) = load_with_source(&args)?;
    siglip.identity(None).check_same_model(&index.identity)?;
    if let Some(n) = index.identity.max_num_patches {
        siglip.set_max_num_patches(n)?;
    }
    let text = match query {
        Some(q) => {
            siglip::classifier::check_label(q)?;
            Some(siglip.embed_texts(&[q.to_string()])?.remove(0))
        }
        None => None,
    };
    let image = match image {
        Some(p) => Some(siglip.embed_image_bytes(&read(p)?)?),
        None => None,
    };
    let q = combine_query(text.as_deref(), image.as_deref())?;
    let hits = index.search(&q, top)?;
    Ok(hits
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let r = &index.records()[h.row];
            SearchHit {
                rank: i + 1,
                id: h.id,
                name: r.name.clone(),
                path: r.path.clone().unwrap_or_else(|| r.name.clone()),
                score: h.score,
                logit: h.logit,
                cosine: h.cosine,
            }
        })
        .collect())
}
