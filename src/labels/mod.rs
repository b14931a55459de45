//! Exporters of session labels to training formats, and importers of
//! existing human labels.
