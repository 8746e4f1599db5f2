#include "bpc_kl.h"

#include <cmath>
#include <iostream>

#include "lmzip/core/error.h"
#include "lmzip/core/utf8.h"
#include "lmzip/model/logits.h"

namespace lmzip::cli {
namespace {

constexpr size_t kRowsPerBlock = 16;  // rows of logits per model held at once ([16 x n_vocab] floats each)

}  // namespace

KlBase::KlBase(const std::string& ref_path, const std::string& model_path, const Tokenizer& tokenizer,
               const Model& model)
    : path_(ref_path), name_(model_display_name(ref_path)), source_(open_model_source(ref_path)) {
  const std::unique_ptr<Tokenizer> ref_tokenizer = source_.tokenizer();
  const std::string diff = vocab_difference(tokenizer.vocab(), ref_tokenizer->vocab());
  if (!diff.empty()) {
    throw Error("--kl-base: " + model_path + " and " + ref_path + " do not share a tokenizer (" + diff +
                "); KL divergence compares distributions over the same tokens");
  }
  model_ = source_.load_model();
  if (model_->config().n_vocab != model.config().n_vocab) {
    throw Error("--kl-base: " + model_path + " has " + std::to_string(model.config().n_vocab) + " outputs and " +
                ref_path + " " + std::to_string(model_->config().n_vocab) + "; KL needs the same vocabulary");
  }
}

WindowScorer KlBase::scorer(const Model& model, ThreadPool& pool) {
  return [this, &model, &pool](std::span<const TokenId> input, std::span<const ScoreTarget> targets) {
    std::vector<uint32_t> positions(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) positions[i] = targets[i].position;
    const WindowLogits ref(*model_, input, positions, pool);
    const WindowLogits cur(model, input, positions, pool);
    const size_t v = static_cast<size_t>(model.config().n_vocab);
    std::vector<float> ref_rows, cur_rows;
    std::vector<double> nll(targets.size());
    for (size_t first = 0; first < targets.size(); first += kRowsPerBlock) {
      const size_t count = std::min(kRowsPerBlock, targets.size() - first);
      ref.logits(first, count, ref_rows, pool);
      cur.logits(first, count, cur_rows, pool);
      for (size_t r = 0; r < count; ++r) {
        const KlPosition p = kl_position(std::span<const float>(ref_rows).subspan(r * v, v),
                                         std::span<const float>(cur_rows).subspan(r * v, v), targets[first + r].token);
        acc_.add(p);
        nll[first + r] = p.nll_model;
      }
    }
    return nll;
  };
}

void KlBase::add_to(nlohmann::json& j) const {
  const KlSummary s = acc_.summary();
  const double chars = j["chars"].get<double>(), bytes = j["bytes"].get<double>();
  const double ln2 = std::log(2.0);
  const double bpc_base = chars > 0 ? s.nats_ref / ln2 / chars : 0.0;
  const double bpb_base = bytes > 0 ? s.nats_ref / ln2 / bytes : 0.0;
  j["kl_base"] = escape_invalid_utf8(name_);
  j["kl_base_path"] = escape_invalid_utf8(path_);
  j["kl_base_id"] = source_.id;
  j["kl_positions"] = s.positions;
  j["kl_mean"] = s.mean;
  j["kl_stderr"] = s.stderr_mean;
  j["kl_median"] = s.median;
  j["kl_p90"] = s.p90;
  j["kl_p99"] = s.p99;
  j["kl_max"] = s.max;
  j["kl_min"] = s.min;
  j["top1_agreement"] = s.top1_agreement;
  j["bpc_base"] = bpc_base;
  j["bpb_base"] = bpb_base;
  j["ppl_base"] = s.positions ? std::exp(s.nats_ref / double(s.positions)) : 0.0;
  j["total_nats_base"] = s.nats_ref;
  j["delta_bpc"] = j["bpc"].get<double>() - bpc_base;
  j["delta_bpb"] = j["bpb"].get<double>() - bpb_base;
}

void print_kl_table(const nlohmann::json& j) {
  auto num = [](double v, int prec) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return std::string(b);
  };
  std::cout << "reference   " << j["kl_base"].get<std::string>() << "  (" << j["kl_base_path"].get<std::string>()
            << ", id " << j["kl_base_id"].get<std::string>() << ")\n"
            << "KL mean     " << num(j["kl_mean"], 6) << "  ± " << num(j["kl_stderr"], 6)
            << " nats   (KL(P_ref || P_model) per scored token, " << j["kl_positions"] << " tokens)\n"
            << "KL median   " << num(j["kl_median"], 6) << "   p90 " << num(j["kl_p90"], 6) << "   p99 "
            << num(j["kl_p99"], 6) << "   max " << num(j["kl_max"], 6) << "\n"
            << "top-1       " << num(j["top1_agreement"], 3) << " %   (argmax of both models agrees)\n"
            << "BPC ref     " << num(j["bpc_base"], 6) << "   ΔBPC " << (j["delta_bpc"].get<double>() >= 0 ? "+" : "")
            << num(j["delta_bpc"], 6) << "   (model − reference)\n";
}

}  // namespace lmzip::cli
