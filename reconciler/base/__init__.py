"""What every layer uses and nothing here may import back: the error tree with exit codes, the one
Clock, URL masking, DNS-label names, YAML reading with its limits, and the GC pause for big trees."""
