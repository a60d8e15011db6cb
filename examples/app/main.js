// The app every example builds: the element (defined by importing the package) and the JS API.
import { createClassifier } from 'siglip-web';

const element = document.querySelector('siglip-classifier');

/** Classifies an image with the element and with createClassifier() (used by examples/run.mjs). */
window.siglipCheck = async (image, labels) => {
  await element.ready;
  const viaElement = await element.classify(image, labels);
  const clf = await createClassifier({ src: 'model.safetensors' });
  const viaApi = await clf.classify(image, labels);
  clf.dispose();
  return { viaElement, viaApi, build: (await element.ready).build };
};
