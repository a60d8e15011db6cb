// The app every example builds: the element (defined by importing the package) and the JS API.
import { createClassifier } from 'siglip-web';

const element = document.querySelector('siglip-classifier');

/**
 * Classifies an image with the element (variant `auto`: threads on a cross-origin isolated page,
 * else relaxed) and with createClassifier() forcing the plain simd128 build, so that a page
 * exercises two of the three wasm builds (used by examples/run.mjs).
 */
window.siglipCheck = async (image, labels) => {
  const { build } = await element.ready;
  const viaElement = await element.classify(image, labels);
  const clf = await createClassifier({ src: 'model.safetensors', variant: 'simd128' });
  const viaApi = await clf.classify(image, labels);
  const builds = [build.variant, clf.build.variant];
  clf.dispose();
  return { viaElement, viaApi, builds };
};
