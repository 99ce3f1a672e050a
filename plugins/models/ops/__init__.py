"""Operations shared by model families (pure torch: CPU, GPU and autocast alike)."""
