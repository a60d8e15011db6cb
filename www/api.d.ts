// Type declarations for siglip-web/api: the JS API of siglip-web without the elements (their
// declarations, and everything else, live in index.d.ts).

export type {
  BuildInfo, CachedDetail, CreateClassifierOptions, ImageSource, LabelScore, LibraryAddResult, LibraryHit, LibraryIdentity,
  LibraryPending, LibraryProgress, LibraryRecord, LoadDetail, ModelInfo, OpenLibraryOptions, ProgressDetail, RankedImage,
  StorageDtype, TextMasking, WasmVariant,
} from './index.js';
export { Classifier, DEFAULT_TEMPLATE, Library, createClassifier, openLibrary } from './index.js';
