"""hashstore: content-hashed static assets, published safely to S3 and CloudFront."""
from __future__ import annotations
