module verikit.example/quickstart

go 1.19
