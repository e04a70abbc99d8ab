"""The record contracts (JSON Schema files), shipped inside the package so services
validate offline."""
