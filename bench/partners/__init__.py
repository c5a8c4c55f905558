"""Parts of the partner delivery benchmark (bench/partner_delivery.py)."""
