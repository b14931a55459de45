//! Importers of existing human labels (filled in below).
