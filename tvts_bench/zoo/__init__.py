"""Model zoo: the adapter interface every protocol uses, model cards, importers, safe loading."""
