// Distribution functions the fits need: the standard normal and Student's t (CDF and quantile).
// Own implementations (no external math library), accurate to ~1e-10, enough for intervals printed to 4 digits.
#pragma once

namespace lmzip::stats {

// Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 <= x <= 1 (continued fraction, Lentz's method).
double incomplete_beta(double a, double b, double x);

double normal_cdf(double z);
double normal_quantile(double p);  // 0 < p < 1 (Acklam's rational approximation refined by one Newton step)

// Student's t with `df` > 0 degrees of freedom.
double student_t_cdf(double t, double df);
double student_t_quantile(double p, double df);  // 0 < p < 1 (bisection on the CDF)

// Two-sided p-value of a Pearson r from n points (t = r sqrt((n-2)/(1-r^2)), df = n-2); n >= 3.
double pearson_p_value(double r, int n);

}  // namespace lmzip::stats
