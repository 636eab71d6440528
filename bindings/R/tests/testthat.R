library(testthat)
library(bloomlink)

test_check("bloomlink")
