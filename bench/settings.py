"""Settings of the processes `make bench` starts: the product's own, with the baseline view
mounted (bench/urls.py). The product's settings and URLconf never import bench."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
