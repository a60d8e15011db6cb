// Type declarations for siglip-web/api: the JS API of siglip-web without the elements (their
// declarations, and everything else, live in index.d.ts).

export type {
  BuildInfo, CachedDetail, CachedModel, CreateClassifierOptions, PlannedDownload, StorageEstimate, ImageSource, LabelScore, LibraryAddResult, LibraryHit, LibraryIdentity,
  LibraryPending, LibraryProgress, LibraryRecord, LoadDetail, ModelInfo, OpenLibraryOptions, ProgressDetail, RankedImage,
  StorageDtype, TextMasking, WasmVariant, CallOptions, PipelineTask, PipelineProgress, PipelineOptions, ZeroShotOptions,
  ZeroShotImageClassificationPipeline, ImageFeatureExtractionPipeline, FeatureExtractionPipeline, RawImageLike,
} from './index.js';
export {
  Classifier, DEFAULT_TEMPLATE, Library, PIPELINE_TASKS, Tensor, cachedModels, clearModelCache, createClassifier, deleteCachedModel, openLibrary,
  persistStorage, pipeline, plannedDownload, storageEstimate,
} from './index.js';
